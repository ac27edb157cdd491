import pytest

pytestmark = pytest.mark.django_db

CONTRACT_EXAMPLE = {
    "enrolled_at": "2026-03-06T16:30:00-05:00",
    "delays_days": [0, 1, 3],
    "window": {"start": "09:00", "end": "17:00"},
    "time_zone": "America/New_York",
    "business_days_only": True,
    "recipient_time_zone": None,
    "holiday_country": None,
}


def test_the_contract_example_is_planned_to_the_minute(anonymous_api):
    response = anonymous_api.post("schedule-preview", CONTRACT_EXAMPLE)
    assert response.status_code == 200, response.data
    assert response.data == {
        "send_at": ["2026-03-06T21:30:00Z", "2026-03-09T13:00:00Z", "2026-03-12T13:00:00Z"]
    }


def test_the_recipient_zone_moves_the_window(anonymous_api):
    body = {**CONTRACT_EXAMPLE, "recipient_time_zone": "Asia/Kolkata", "delays_days": [0]}
    # 21:30Z is 03:00 on Saturday in Kolkata: the next business window is Monday 09:00 IST.
    response = anonymous_api.post("schedule-preview", body)
    assert response.data == {"send_at": ["2026-03-09T03:30:00Z"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"delays_days": [0, 0]}, "delays_days.1"),
        ({"delays_days": [-1]}, "delays_days.0"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"recipient_time_zone": "Nowhere/City"}, "recipient_time_zone"),
        ({"window": {"start": "25:00", "end": "17:00"}}, "window.start"),
        ({"window": {"start": "09:00", "end": "9pm"}}, "window.end"),
        ({"enrolled_at": "2026-03-06T16:30:00"}, "enrolled_at"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"window": {"start": "09:00"}}, "window.end"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(anonymous_api, change, field):
    response = anonymous_api.post("schedule-preview", {**CONTRACT_EXAMPLE, **change})
    assert response.status_code == 400, response.data
    error = response.data["error"]
    assert error["field"] == field
    assert error["message"]


def test_a_body_that_is_not_json_is_refused_clearly(anonymous_api):
    response = anonymous_api._client.post(
        "/api/v1/schedule-preview", data="{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
