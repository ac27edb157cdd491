import pytest

pytestmark = pytest.mark.django_db

COLLECTIONS = ["people", "companies", "lists", "sequences", "templates", "suppressions"]


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=36893488147419103231", "offset"),  # found by fuzzing: overflowed SQLite
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ],
)
def test_a_page_out_of_range_is_a_400_naming_the_parameter(api, collection, query, field):
    response = api.get(f"{collection}?{query}")
    assert response.status_code == 400, response.content
    assert response.data["error"]["field"] == field


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_collection_answers_items_and_count(api, collection):
    response = api.get(f"{collection}?limit=5&offset=0")
    assert response.status_code == 200
    assert set(response.data) == {"items", "count"}


def test_an_id_too_large_for_the_database_is_a_400_not_a_crash(api):
    team = api.post("teams", {"name": "Sales"}).data
    response = api.patch(f"teams/{team['id']}", {"member_ids": [2**100]})
    assert response.status_code == 400
    assert response.data["error"]["code"] in {"out_of_range", "not_found"}
