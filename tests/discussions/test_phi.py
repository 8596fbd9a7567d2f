"""The privacy guard against a labeled set of posts practice managers might write."""

import pytest

from discussions.phi import phi_scan

# (text, holds protected health information?)
LABELED = [
    # --- would identify a patient: must be held ---
    ("Pt DOB 03/14/1961 keeps getting denied for Humira, any ideas?", True),
    ("Her date of birth: March 14, 1961 and the payer still says no match.", True),
    ("Born on 4 Mar 1958, she has been on methotrexate since 2010.", True),
    ("MRN 00482913 shows two visits on the same day.", True),
    ("Medical record number: A1234567 was merged with another chart.", True),
    ("His SSN is 123-45-6789, can we use it to check eligibility?", True),
    ("Social security no. 123456789 came back invalid.", True),
    ("Member ID: XJH400512789 for BCBS keeps failing in the portal.", True),
    ("Medicare number 1EG4-TE5-MK73 was rejected.", True),
    ("Patient John Smith was seen on 02/03/2025 and the claim denied.", True),
    ("Mrs. Alvarez, DOS 1/7/25, infusion code rejected for modifier.", True),
    ("DOS 11/02/2024 for patient Maria Gonzalez is stuck in review.", True),
    ("Policy number: 88412-0091 appears twice on the EOB.", True),
    ("pt. Robert Chen came in 12/12/2024 without his referral.", True),
    # --- ordinary practice talk: must pass ---
    ("How do you handle prior authorizations for biologics?", False),
    ("We bill 99214 with modifier 25 when the injection is separate.", False),
    ("ICD-10 M05.79 versus M06.9: which do your coders use?", False),
    ("J0129 (abatacept) reimbursement dropped 4% this year.", False),
    ("Call me at 312-555-0142 or email me after 3 pm.", False),
    ("Our board meets on March 14, 2025 to set the 2026 budget.", False),
    ("We saw 42 patients on 02/03/2025, a record for one provider.", False),
    ("Our patient portal vendor raised prices by $1,200 a year.", False),
    ("Patients love the new check-in kiosks.", False),
    ("Staff ratio is 4.5 FTE per physician; turnover 18% in 2024.", False),
    ("Member dues renew on 1/1/2026; the association sent invoices.", False),
    ("Anyone using the NORM salary survey from 2024?", False),
    ("The member portal for Aetna changed its login on 5/1/2025.", False),
    ("Ms. Okafor from our billing team will present at the conference.", False),
]


@pytest.mark.parametrize(("text", "is_phi"), LABELED, ids=[t[:40] for t, _ in LABELED])
def test_phi_scan_classifies_the_labeled_example(text, is_phi):
    findings = phi_scan(text)
    assert bool(findings) is is_phi, findings


def test_phi_findings_are_masked_so_notices_do_not_repeat_the_identifier():
    findings = phi_scan("SSN 123-45-6789")
    assert findings
    assert "123" not in str(findings[0])
