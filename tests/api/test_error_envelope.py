"""Failures raised inside a view, whoever raises them, answer in Anthropic's envelope."""

import pytest
from ninja import Router
from ninja.testing import TestClient
from pydantic import BaseModel, Field

from console.admin_api import create_api


class Amount(BaseModel):
    amount: int = Field(ge=0)


class Answer(BaseModel):
    total: int


def _client() -> TestClient:
    router = Router()

    @router.get("/parse")
    def parse(request, amount: str):
        # A view validating a value of its own with pydantic.
        return Amount.model_validate({"amount": amount}).model_dump()

    @router.get("/broken", response=Answer)
    def broken(request):
        return {"total": "not a number"}

    api = create_api(auth=[lambda request: True], description="test")
    api.urls_namespace = "admin_api_envelope_test"
    api.add_router("", router)
    return TestClient(api)


def test_pydantic_refusal_inside_a_view_is_a_400_in_the_envelope():
    response = _client().get("/parse?amount=-3")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("amount: ")
    assert body["request_id"] == response["request-id"]


@pytest.mark.filterwarnings("ignore")
def test_an_answer_that_does_not_fit_its_schema_is_the_servers_fault(caplog):
    response = _client().get("/broken")
    assert response.status_code == 500
    assert response.json()["error"] == {"type": "api_error", "message": "Internal server error."}
    assert "does not fit its schema" in caplog.text
