"""The counts against published worked examples, and the published tie rule."""

from fractions import Fraction

from elections import tally


def _expand(groups):
    return [list(order) for count, order in groups for _ in range(count)]


def test_stv_matches_the_wikipedia_food_election():
    """Wikipedia, "Single transferable vote", section "Example" (the party food election):
    20 guests, 3 seats, Droop quota floor(20/4)+1 = 6. 4 Oranges>Pears, 2 Pears>Oranges,
    8 Chocolate>Strawberries, 4 Chocolate>Sweets, 1 Strawberries, 1 Sweets. Chocolate (12) is
    elected; its surplus of 6 moves at 1/2, giving Strawberries 4 and Sweets 2; Pears is
    excluded, Oranges reaches 6 and is elected; Sweets is excluded; Strawberries takes the
    last seat. Winners: Chocolate, Oranges, Strawberries."""
    ballots = _expand(
        [
            (4, ["Oranges", "Pears"]),
            (2, ["Pears", "Oranges"]),
            (8, ["Chocolate", "Strawberries"]),
            (4, ["Chocolate", "Sweets"]),
            (1, ["Strawberries"]),
            (1, ["Sweets"]),
        ]
    )
    outcome = tally.stv(ballots, seats=3, candidates=[], seed="s", office="1")
    assert outcome.quota == 6
    assert outcome.elected == ["Chocolate", "Oranges", "Strawberries"]
    first, second, third, fourth = outcome.rounds[:4]
    assert first.votes["Chocolate"] == 12 and first.elected == ["Chocolate"]
    # Gregory transfer: 8 x 6/12 = 4 and 4 x 6/12 = 2, on top of first preferences.
    assert second.votes["Strawberries"] == 5 and second.votes["Sweets"] == 3
    assert second.excluded == ["Pears"]
    assert third.votes["Oranges"] == 6 and third.elected == ["Oranges"]
    assert fourth.excluded == ["Sweets"]


def test_irv_matches_the_wikipedia_tennessee_capital_example():
    """Wikipedia, "Instant-runoff voting", the Tennessee capital example: 42% Memphis >
    Nashville > Chattanooga > Knoxville; 26% Nashville > Chattanooga > Knoxville > Memphis;
    15% Chattanooga > Knoxville > Nashville > Memphis; 17% Knoxville > Chattanooga >
    Nashville > Memphis. Chattanooga is eliminated first (Knoxville 32), then Nashville
    (Knoxville 58): Knoxville wins with a majority."""
    ballots = _expand(
        [
            (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
            (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
            (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
            (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
        ]
    )
    outcome = tally.stv(ballots, seats=1, candidates=[], seed="s", office="1")
    assert outcome.quota == 51
    assert [r.excluded for r in outcome.rounds] == [["Chattanooga"], ["Nashville"], []]
    assert outcome.rounds[1].votes["Knoxville"] == 32
    assert outcome.rounds[2].votes["Knoxville"] == 58
    assert outcome.elected == ["Knoxville"]


def test_surplus_transfer_is_exact_fractions():
    ballots = _expand([(7, ["A", "B"]), (2, ["C"]), (1, ["B"])])  # quota 10//3+1 = 4
    outcome = tally.stv(ballots, seats=2, candidates=[], seed="s", office="1")
    assert outcome.elected[0] == "A"
    assert outcome.rounds[1].votes["B"] == 1 + Fraction(7) * Fraction(3, 7)


def test_plurality_elects_the_most_marked_for_n_seats():
    ballots = [["a", "b"], ["a", "c"], ["b"], ["a", "b"]]
    outcome = tally.plurality(ballots, seats=2, candidates=["a", "b", "c"], seed="s", office="1")
    assert sorted(outcome.elected) == ["a", "b"]
    assert outcome.rounds[0].votes["c"] == 1


def test_ties_are_broken_by_the_published_lot_and_repeatably():
    ballots = [["a"], ["b"]]
    first = tally.plurality(ballots, seats=1, candidates=["a", "b"], seed="seed-1", office="7")
    again = tally.plurality(ballots, seats=1, candidates=["a", "b"], seed="seed-1", office="7")
    assert first.elected == again.elected
    assert first.rounds[0].by_lot
    expected = max(["a", "b"], key=lambda k: tally.lot("seed-1", "7", 1, k))
    assert first.elected == [expected]
