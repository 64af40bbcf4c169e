"""Error pages are Chinese pages of the product, never Django's English one-liners."""

from django.urls import reverse


def test_post_over_the_size_limit_gets_the_chinese_413_page(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(reverse("accounts:login"), {"username": "13900000001", "password": "x" * 2000})
    assert response.status_code == 413
    text = response.content.decode()
    assert "提交的内容过大" in text and 'data-testid="too-large"' in text
    assert "Bad Request" not in text


def test_too_many_fields_gets_the_413_page(client, db, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = client.post(reverse("accounts:login"), {f"f{i}": "1" for i in range(10)})
    assert response.status_code == 413
    assert "提交的内容过大" in response.content.decode()


def test_other_bad_requests_get_the_chinese_400_page(client, db):
    response = client.get(reverse("accounts:login"), HTTP_HOST="not-ours.example")  # DisallowedHost
    assert response.status_code == 400
    text = response.content.decode()
    assert "请求无法处理" in text and 'data-testid="bad-request"' in text
    assert "Bad Request" not in text


def test_an_api_call_over_the_size_limit_gets_json(client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/auth/token", {"username": "13900000001", "password": "x" * 2000})
    assert response.status_code == 413
    assert response.json() == {"detail": "提交的内容过大，请减少后重试。"}
