import pytest


@pytest.mark.django_db
def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery_app import app
    from tests.fixtures import celery_use_broker

    saved = app.conf.broker_url
    celery_use_broker(app, "redis://127.0.0.1:1/0")
    try:
        response = client.get("/readyz")
    finally:
        celery_use_broker(app, saved)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    assert response.json()["checks"]["broker"] == "unavailable"


def test_metrics_are_exposed(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total" in response.content


@pytest.mark.django_db
def test_unknown_api_path_answers_in_the_error_format(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }
