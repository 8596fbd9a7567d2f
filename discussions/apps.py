from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"
