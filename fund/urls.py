from django.urls import URLPattern, path

from . import apis

app_name = "fund"

urlpatterns: list[URLPattern] = [
    path("fund/polls", apis.PollListCreateApi.as_view(), name="poll-list"),
    path("fund/polls/<int:poll_id>", apis.PollDetailApi.as_view(), name="poll-detail"),
    path("fund/polls/<int:poll_id>/open", apis.PollOpenApi.as_view(), name="poll-open"),
    path("fund/polls/<int:poll_id>/close", apis.PollCloseApi.as_view(), name="poll-close"),
    path("fund/polls/<int:poll_id>/publish", apis.PollPublishApi.as_view(), name="poll-publish"),
    path("fund/polls/<int:poll_id>/cancel", apis.PollCancelApi.as_view(), name="poll-cancel"),
    path("fund/polls/<int:poll_id>/ballot", apis.PollBallotApi.as_view(), name="poll-ballot"),
    path("fund/polls/<int:poll_id>/results", apis.PollResultsApi.as_view(), name="poll-results"),
    path(
        "fund/polls/<int:poll_id>/ballot-file",
        apis.PollBallotFileApi.as_view(),
        name="poll-ballot-file",
    ),
    path("fund/rounds", apis.RoundListCreateApi.as_view(), name="round-list"),
    path("fund/rounds/<int:round_id>", apis.RoundDetailApi.as_view(), name="round-detail"),
    path(
        "fund/rounds/<int:round_id>/projects",
        apis.RoundProjectListCreateApi.as_view(),
        name="round-projects",
    ),
    path("fund/rounds/<int:round_id>/open", apis.RoundOpenApi.as_view(), name="round-open"),
    path("fund/rounds/<int:round_id>/close", apis.RoundCloseApi.as_view(), name="round-close"),
    path(
        "fund/rounds/<int:round_id>/publish", apis.RoundPublishApi.as_view(), name="round-publish"
    ),
    path("fund/rounds/<int:round_id>/cancel", apis.RoundCancelApi.as_view(), name="round-cancel"),
    path("fund/rounds/<int:round_id>/ballot", apis.RoundBallotApi.as_view(), name="round-ballot"),
    path(
        "fund/rounds/<int:round_id>/results", apis.RoundResultsApi.as_view(), name="round-results"
    ),
    path(
        "fund/rounds/<int:round_id>/pabulib", apis.RoundPabulibApi.as_view(), name="round-pabulib"
    ),
]

# The money side of the fund: savings, donations, matchfunding, investments, figures.
from .money_urls import urlpatterns as money_urlpatterns  # noqa: E402

urlpatterns += money_urlpatterns
