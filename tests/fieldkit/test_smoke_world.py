from sqlmodel import func, select

from fieldkit.models import Household, Service


def test_world_has_three_households_and_the_catalogue(session, world):
    assert session.exec(select(func.count()).select_from(Household)).one() == 3
    assert session.exec(select(func.count()).select_from(Service)).one() == 18
