"""Importing households and residents from real-looking Excel and CSV files (issue 15), on
SQLite and PostgreSQL: both shapes of list, every quirk of real files, the preview that writes
nothing, all-or-nothing import, safe re-import, undo."""

from __future__ import annotations

import codecs
from datetime import date

import pytest
from sqlmodel import col, func, select

from fieldkit import households, imports, visits
from fieldkit.errors import Invalid
from fieldkit.imports import Importer, UndoRefused
from fieldkit.models import (
    AuditEvent,
    Household,
    ImportBatch,
    ImportChange,
    ImportKind,
    ImportStatus,
    Resident,
    ReviewState,
    Sex,
    Village,
    VillageProgress,
)
from fieldkit.policy import scope_for
from fieldkit.reporting import indicators
from tests.conftest import NOW
from tests.factories import World
from tests.fieldkit.helpers import count, record_visit, visit_payload
from tests.fieldkit.test_indicator_progress import assert_agrees
from tests.import_files import (
    HOUSEHOLD_HEADERS,
    PERSON_HEADERS,
    csv_bytes,
    families,
    household_rows,
    person_rows,
    xlsx,
)


def console(world: World) -> Importer:
    return Importer.console(world.commune.id)


def preview(session, world, data: bytes, name: str = "danh-sach.xlsx", importer=None, **kw):
    batch = imports.start(
        session,
        importer or console(world),
        kind=ImportKind.households,
        file_name=name,
        data=data,
        now=NOW,
        **kw,
    )
    session.commit()
    return batch


def run(session, world, batch, importer=None) -> ImportBatch:
    assert imports.claim(session, batch, now=NOW)
    session.commit()
    done = imports.run(session, batch.id, importer or console(world), now=NOW)
    session.commit()
    return done


def snapshot(session) -> dict:
    """Every household and resident as stored (what a second import must not change), read
    as plain rows: ten thousand ORM objects in the test's session would slow every flush."""
    return {
        "households": sorted(
            session.exec(
                select(
                    Household.id,
                    Household.village_id,
                    Household.label,
                    Household.head_name,
                    Household.address_hint,
                    Household.smartphones,
                    Household.internet_at_home,
                    Household.code,
                    Household.search_text,
                    Household.import_batch_id,
                )
            ).all()
        ),
        "residents": sorted(
            session.exec(
                select(
                    Resident.id,
                    Resident.household_id,
                    Resident.name,
                    Resident.birth_year,
                    Resident.sex,
                    Resident.relation,
                    Resident.phone,
                    Resident.import_batch_id,
                )
            ).all()
        ),
        "progress": sorted(
            session.exec(
                select(
                    VillageProgress.village_id,
                    VillageProgress.indicator,
                    VillageProgress.approved,
                    VillageProgress.pending,
                )
            ).all()
        ),
    }


EAST_FAMILIES = [
    [
        "1",
        "HK001",
        "Thôn Đông",
        12.0,
        "Nguyễn Văn An",
        "Chủ hộ",
        date(1968, 5, 12),
        "Nam",
        912345678,
        "038068012345",
    ],
    ["2", None, None, None, "Hoàng Thị Lan ", "Vợ", "12/05/1972", "Nữ", None, None],
    ["3", None, None, None, "Nguyễn Minh Khôi", "Con trai", 38000, "nam", "0912 000 333", None],
    [
        "4",
        "HK002",
        "thon dong",
        "20",
        "Trần Văn Mới",
        "Chủ hộ",
        "1970",
        "Nam",
        "+84912000111",
        "038070000111",
    ],
    ["5", "HK003", "Đông", "21", "Đỗ Thị Hoa", "Chủ hộ", "3/1955", "Nữ", None, None],
    ["6", None, None, None, "Lê Văn Tú", "Chồng", 1952.0, "Nam", 84912000222, None],
]


def test_a_list_one_person_per_row_is_previewed_then_imported(session, world: World):
    w = world
    data = xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1)
    before = snapshot(session)
    batch = preview(session, w, data)

    # The preview writes nothing but the batch.
    assert snapshot(session) == before
    p = batch.preview
    assert p["shape"] == "person"
    assert p["counts"] == {
        "households_new": 2,
        "households_updated": 1,  # "12 · Nguyễn Văn An" is already in Thôn Đông
        "households_unchanged": 0,
        "rows_refused": 0,
        "residents_new": 4,  # the son, and both new households' people
        "residents_updated": 1,  # An's phone
        "villages_new": 0,
    }
    dropped = {column["header"]: column["field"] for column in p["dropped"]}
    assert dropped == {"Số CCCD": "citizen_id"}
    # The citizen-ID numbers are not kept anywhere, not even in the waiting batch.
    assert "038068012345" not in repr(batch.rows)
    assert "Số CCCD" not in batch.rows["headers"]

    done = run(session, w, batch)
    assert done.status is ImportStatus.done
    assert done.rows == {}  # the file's cells go once imported
    assert done.counts == p["counts"]

    an = session.get(Household, w.household.id)
    assert an.code == "HK001"
    people = {r.name: r for r in households.residents_of(session, an)}
    assert set(people) == {"Nguyễn Văn An", "Hoàng Thị Lan", "Nguyễn Minh Khôi"}
    assert people["Nguyễn Văn An"].phone == "0912345678"  # the lost 0 is back
    assert people["Nguyễn Minh Khôi"].birth_year == 2004  # Excel serial 38000 = 15/01/2004
    assert people["Nguyễn Minh Khôi"].relation == "Con"
    assert people["Nguyễn Minh Khôi"].phone == "0912000333"
    assert people["Nguyễn Minh Khôi"].review_state is ReviewState.approved

    new = {
        h.label: h
        for h in session.exec(select(Household).where(col(Household.code).in_(["HK002", "HK003"])))
    }
    assert new["20"].head_name == "Trần Văn Mới"
    assert new["20"].village_id == w.village.id  # "thon dong" is Thôn Đông
    assert new["21"].village_id == w.village.id  # and so is "Đông"
    assert new["20"].review_state is ReviewState.approved
    assert new["20"].search_text == "20 tran van moi tran van moi"
    hoa = {r.name: r for r in households.residents_of(session, new["21"])}
    assert hoa["Đỗ Thị Hoa"].birth_year == 1955 and hoa["Đỗ Thị Hoa"].sex is Sex.female
    assert hoa["Lê Văn Tú"].phone == "0912000222"  # 84… written as a number
    assert hoa["Lê Văn Tú"].birth_year == 1952
    # Dates of birth become years: nothing else of them is stored.
    assert "1968-05-12" not in repr(snapshot(session))
    # Numbers are counted once and agree with a count from scratch.
    assert_agrees(session, scope_for(w.staff))
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert event.details["file"] == "danh-sach.xlsx"
    assert event.details["households_new"] == 2


def test_the_same_file_twice_changes_nothing(session, world: World):
    w = world
    data = xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1)
    run(session, w, preview(session, w, data))
    after_first = snapshot(session)
    changes = count(session, ImportChange)

    again = preview(session, w, data)
    assert again.preview["counts"]["households_unchanged"] == 3
    assert again.preview["counts"]["households_new"] == 0
    assert again.preview["counts"]["residents_new"] == 0
    second = run(session, w, again)
    assert second.counts["households_unchanged"] == 3
    assert snapshot(session) == after_first
    assert count(session, ImportChange) == changes


def test_a_corrected_file_changes_only_what_differs_and_blanks_erase_nothing(session, world: World):
    w = world
    rows = [list(row) for row in EAST_FAMILIES]
    run(session, w, preview(session, w, xlsx(PERSON_HEADERS, rows, merge_key=1)))
    corrected = [list(row) for row in rows]
    corrected[3][4] = "Trần Văn Mới Sửa"  # the head's name corrected (matched by code)
    corrected[0][8] = None  # a phone left blank: it stays known
    corrected[4][6] = "1956"  # a birth year corrected
    batch = preview(session, w, xlsx(PERSON_HEADERS, corrected, merge_key=1))
    assert batch.preview["counts"]["households_updated"] == 2
    assert batch.preview["counts"]["households_unchanged"] == 1
    changes = {u["head"]: u["changes"] for u in batch.preview["updates"]}
    assert ["Chủ hộ", "Trần Văn Mới", "Trần Văn Mới Sửa"] in changes["Trần Văn Mới Sửa"]
    run(session, w, batch)
    moved = session.exec(select(Household).where(Household.code == "HK002")).one()
    assert moved.head_name == "Trần Văn Mới Sửa"
    # The head resident followed the correction rather than a second head appearing.
    assert [r.name for r in households.residents_of(session, moved)] == ["Trần Văn Mới Sửa"]
    an = households.residents_of(session, session.get(Household, w.household.id))[0]
    assert an.phone == "0912345678"
    assert count(session, Household) == 5


def test_households_without_codes_match_by_village_house_and_head_without_accents(
    session, world: World
):
    w = world
    rows = [
        [1, "Thôn Đông", "12", "NGUYEN VAN AN", 1968, "Nam", None, 2, "có", None],
        [2, "Thôn Tây", "3", "Lê Văn Cường", 1980, "Nam", None, "", "", "Cạnh chợ"],
        [3, "Thôn Tây", "7", "Phan Thị Mới", 1990, "Nữ", "0987654321", "1", "Không", None],
    ]
    batch = preview(session, w, xlsx(HOUSEHOLD_HEADERS, rows))
    assert batch.preview["shape"] == "household"
    assert batch.preview["counts"]["households_updated"] == 2
    assert batch.preview["counts"]["households_new"] == 1
    run(session, w, batch)
    an = session.get(Household, w.household.id)
    # The list's name is the commune's word; its facts are filled in.
    assert an.head_name == "NGUYEN VAN AN"
    assert an.smartphones == 2 and an.internet_at_home is True
    assert session.get(Household, w.far_household.id).address_hint == "Cạnh chợ"
    new = session.exec(select(Household).where(Household.label == "7")).one()
    (head,) = households.residents_of(session, new)
    assert (head.name, head.relation, head.phone) == ("Phan Thị Mới", "Chủ hộ", "0987654321")
    assert new.internet_at_home is False and new.smartphones == 1


@pytest.mark.parametrize(
    "encoding,delimiter",
    [("utf-8-sig", ";"), ("utf-8", ","), ("utf-16", "\t")],
    ids=["excel-vietnamese", "utf8-no-bom", "unicode-text"],
)
def test_csv_as_excel_saves_it(session, world: World, encoding, delimiter):
    rows = [
        ["1", "Thôn Tây", "9", "Vũ Thị Hằng ", "1975", "Nữ", "0912000999", "2", "Có", ""],
        ["", "", "", "", "", "", "", "", "", ""],
        ["2", "Thôn Tây", "10", "Đinh Văn Hậu", "2/9/1945", "Nam", "", "", "", ""],
    ]
    data = csv_bytes(HOUSEHOLD_HEADERS, rows, delimiter=delimiter, encoding=encoding)
    batch = preview(session, world, data, name="ds.csv")
    assert batch.preview["counts"]["households_new"] == 2
    run(session, world, batch)
    hang = session.exec(select(Household).where(Household.label == "9")).one()
    assert hang.head_name == "Vũ Thị Hằng"  # NFC, trailing space gone
    hau = session.exec(select(Household).where(Household.label == "10")).one()
    assert households.residents_of(session, hau)[0].birth_year == 1945


def test_other_encodings_and_unreadable_files_get_clear_errors(session, world: World):
    rows = [["1", "Thôn Tây", "9", "Vũ Thị Hằng", "1975", "Nữ", "", "", "", ""]]
    legacy = "\n".join(";".join(row) for row in [HOUSEHOLD_HEADERS, *rows]).encode(
        "cp1258", errors="replace"
    )
    with pytest.raises(Invalid) as refused:
        preview(session, world, legacy, name="ds.csv")
    assert "UTF-8" in refused.value.errors["file"]
    with pytest.raises(Invalid) as refused:
        preview(session, world, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "ds.xls")
    assert ".xlsx" in refused.value.errors["file"]
    with pytest.raises(Invalid) as refused:
        preview(session, world, b"PK\x03\x04 not really a zip", "ds.xlsx")
    assert "hỏng" in refused.value.errors["file"]
    with pytest.raises(Invalid) as refused:
        preview(session, world, b"1;2;3\n4;5;6\n", "ds.csv")
    assert "tiêu đề" in refused.value.errors["file"]
    assert count(session, ImportBatch) == 0


def test_each_refused_row_says_its_line_and_why(session, world: World):
    w = world
    rows = [
        [1, "Thôn Tây", "30", "", 1975, "Nữ", None, None, None, None],
        [2, "Thôn Tây", "31", "Bùi Văn Sai", 2090, "Nam", "12345", "40", "hmm", None],
        [3, "Thôn Tây", "32", "Đào Văn Số", 1970, "Nam", None, None, None, "CCCD 038070001234"],
        [4, "Thôn Tây", "33", "=cmd|' /C calc'!A0", 1970, "Nam", None, None, None, None],
        [5, "Thôn Tây", "34", "Lý Thị Tốt", 1970, "Nữ", None, None, None, None],
        [6, "Thôn Tây", "34", "Lý Thị Tốt", 1970, "Nữ", None, None, None, None],
        [7, "Thôn Tây", "35", "Mai Văn Khẩu", 1970, "Nam", None, None, None, "mật khẩu: 123456"],
    ]
    batch = preview(session, w, csv_bytes(HOUSEHOLD_HEADERS, rows), name="ds.csv")
    refused = dict(batch.preview["refused"])
    assert set(refused) == {3, 4, 5, 6, 8, 9}  # CSV lines: a title row, the header, then data
    assert "họ tên" in refused[3] or "họ và tên" in refused[3]
    assert "Năm sinh" in refused[4] and "Số điện thoại" in refused[4]
    assert "từ 0 đến 30" in refused[4] and "Có hoặc Không" in refused[4]
    assert "CCCD" in refused[5]
    assert "công thức" in refused[6]
    assert "dòng 7" in refused[8]
    assert "mật khẩu" in refused[9]
    assert batch.preview["counts"]["households_new"] == 1
    done = run(session, w, batch)
    assert done.counts["households_new"] == 1
    assert count(session, Household) == 4


def test_villages_that_do_not_exist_yet_are_offered_and_created_when_chosen(session, world: World):
    w = world
    rows = [
        [1, "Tổ dân phố Mới", "1", "Ngô Văn Một", 1970, "Nam", None, None, None, None],
        [2, "TDP Mới", "2", "Ngô Văn Hai", 1971, "Nam", None, None, None, None],
        [3, "Thôn Tây", "40", "Ngô Văn Ba", 1972, "Nam", None, None, None, None],
    ]
    batch = preview(session, w, xlsx(HOUSEHOLD_HEADERS, rows))
    (offer,) = batch.preview["new_villages"]
    assert offer["name"] == "Tổ dân phố Mới" and offer["households"] == 2
    assert offer["create"] is False
    assert batch.preview["counts"]["rows_refused"] == 2
    imports.configure(session, batch, console(w), create_villages=[offer["key"]], now=NOW)
    session.commit()
    assert batch.preview["counts"]["villages_new"] == 1
    assert batch.preview["counts"]["households_new"] == 3
    run(session, w, batch)
    village = session.exec(select(Village).where(Village.name == "Tổ dân phố Mới")).one()
    assert count(session, Household) == 6
    assert {
        h.label for h in session.exec(select(Household).where(Household.village_id == village.id))
    } == {"1", "2"}


def test_a_file_without_a_village_column_goes_to_the_chosen_village(session, world: World):
    headers = ["Số nhà", "Chủ hộ"]
    batch = preview(session, world, xlsx(headers, [["50", "Hà Văn Năm"]]))
    assert "Thiếu thôn" in batch.preview["refused"][0][1]
    imports.configure(session, batch, console(world), village_id=world.other_village.id, now=NOW)
    session.commit()
    run(session, world, batch)
    new = session.exec(select(Household).where(Household.label == "50")).one()
    assert new.village_id == world.other_village.id


def test_a_leader_imports_for_their_own_village_only(session, world: World):
    w = world
    leader = Importer.of(w.leader)
    rows = [
        [1, "Thôn Đông", "60", "Phí Văn Sáu", 1970, "Nam", None, None, None, None],
        [2, "Thôn Tây", "61", "Phí Văn Bảy", 1970, "Nam", None, None, None, None],
        [3, "Thôn Núi", "62", "Phí Văn Tám", 1970, "Nam", None, None, None, None],
    ]
    batch = preview(session, w, xlsx(HOUSEHOLD_HEADERS, rows), importer=leader)
    assert batch.village_id == w.village.id
    refused = dict(batch.preview["refused"])
    assert len(refused) == 2 and all("thôn mình" in reason for reason in refused.values())
    imports.configure(session, batch, leader, create_villages=["nui"], now=NOW)
    assert batch.preview["counts"]["villages_new"] == 0  # leaders create no villages
    run(session, w, batch, importer=leader)
    assert count(session, Household) == 4
    with pytest.raises(Invalid):
        imports.configure(session, batch, leader, village_id=w.other_village.id, now=NOW)


def test_an_unrecognised_header_is_mapped_by_the_person(session, world: World):
    headers = ["Hộ", "Người đứng tên", "Xóm"]
    batch = preview(session, world, xlsx(headers, [["70", "Cao Văn Bảy", "Thôn Tây"]]))
    assert batch.preview["problems"]  # no name column recognised
    assert imports.mapping_of(batch) == ["", "", "village"]
    imports.configure(
        session, batch, console(world), mapping=["label", "head_name", "village"], now=NOW
    )
    session.commit()
    assert batch.preview["counts"]["households_new"] == 1
    with pytest.raises(Invalid):
        imports.configure(
            session, batch, console(world), mapping=["label", "label", "village"], now=NOW
        )


def test_an_import_that_fails_writes_nothing(session, world: World, monkeypatch):
    w = world
    batch = preview(session, w, xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1))
    before = snapshot(session)
    assert imports.claim(session, batch, now=NOW)
    session.commit()
    assert not imports.claim(session, batch, now=NOW)  # a second click does not start it twice

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(households, "refresh_summaries", broken)
    with pytest.raises(RuntimeError):
        imports.run(session, batch.id, console(w), now=NOW)
    session.rollback()
    imports.fail(session, batch.id, "disk full", now=NOW)
    session.commit()
    assert snapshot(session) == before
    assert count(session, ImportChange) == 0
    session.refresh(batch)
    assert batch.status is ImportStatus.failed
    monkeypatch.undo()
    done = run(session, w, batch)  # a failed batch may be imported again
    assert done.counts["households_new"] == 2


def test_undo_takes_back_what_a_batch_created_and_changed(session, world: World):
    w = world
    before = snapshot(session)
    batch = run(session, w, preview(session, w, xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1)))
    assert imports.undo_blockers(session, batch) == []
    imports.undo(session, batch, console(w), now=NOW)
    session.commit()
    assert batch.status is ImportStatus.undone
    after = snapshot(session)
    # The households and people it made are gone, the household it changed is as it was.
    assert [h[:9] for h in after["households"]] == [h[:9] for h in before["households"]]
    assert [r[:7] for r in after["residents"]] == [r[:7] for r in before["residents"]]
    assert after["progress"] == before["progress"]
    assert_agrees(session, scope_for(w.staff))
    with pytest.raises(UndoRefused):
        imports.undo(session, batch, console(w), now=NOW)


def test_undo_is_refused_once_a_visit_was_logged_on_what_it_created(session, world: World):
    w = world
    batch = run(session, w, preview(session, w, xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1)))
    new = session.exec(select(Household).where(Household.code == "HK002")).one()
    record_visit(session, w, household=new)
    session.commit()
    assert imports.undo_blockers(session, batch)
    with pytest.raises(UndoRefused) as refused:
        imports.undo(session, batch, console(w), now=NOW)
    assert "lượt thăm" in str(refused.value)
    assert session.get(Household, new.id) is not None


def test_the_template_has_vietnamese_headers_drop_downs_and_reads_back(session, world: World):
    import io

    import openpyxl

    data = imports.template(session, console(world))
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Hộ và nhân khẩu"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:5] == ["Mã hộ", "Thôn", "Số nhà", "Họ và tên", "Quan hệ với chủ hộ"]
    lists = {
        str(rule.sqref).split(":")[0][:1]: rule.formula1
        for rule in sheet.data_validations.dataValidation
    }
    assert "Danh mục" in lists["B"] and "Danh mục" in lists["E"]
    names = [row[0] for row in book["Danh mục"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert names == ["Thôn Đông", "Thôn Tây"]
    # The example rows import as they stand (the example household is the world's "12").
    batch = preview(session, world, data)
    assert batch.preview["counts"]["households_updated"] == 1
    assert batch.preview["counts"]["residents_new"] == 0
    assert batch.preview["counts"]["rows_refused"] == 0


def test_ten_thousand_rows_both_shapes(session, world: World):
    """10,000 people in ~3,000 households, then 10,000 one-row households, each imported and
    re-imported: counts exact, second import changes nothing. (Speed: benchmarks/.)"""
    w = world
    people = families(3000, ["Thôn Đông", "Thôn Tây"], seed=7)
    rows = person_rows(people)
    rows = rows[:10_000]
    data = xlsx(PERSON_HEADERS, rows)  # cells below a household's first row empty, as merged
    batch = preview(session, w, data)
    expected = {f.code for f in people if any(r[1] == f.code for r in rows)}
    assert batch.preview["counts"]["rows_refused"] == 0
    assert batch.preview["counts"]["households_new"] == len(expected)
    assert batch.preview["counts"]["residents_new"] == 10_000
    run(session, w, batch)
    assert count(session, Resident) == 10_000 + 4
    first = snapshot(session)
    second = run(session, w, preview(session, w, data))
    assert second.counts["households_unchanged"] == len(expected)
    assert snapshot(session) == first

    ones = families(10_000, ["Thôn Đông", "Thôn Tây"], seed=8, code_prefix="X", first_house=5000)
    data = csv_bytes(HOUSEHOLD_HEADERS, household_rows(ones))
    batch = preview(session, w, data, name="ho.csv")
    assert batch.preview["counts"]["households_new"] == 10_000
    run(session, w, batch)
    assert session.exec(select(func.count()).select_from(Household)).one() == (
        3 + len(expected) + 10_000
    )
    assert_agrees(session, scope_for(w.staff))
    again = run(session, w, preview(session, w, data, name="ho.csv"))
    assert again.counts["households_unchanged"] == 10_000


def _twin(session, w, label: str, head: str) -> Household:
    """The same household proposed again from the field, spelt without accents."""
    twin, _ = households.propose_household(
        session,
        households.HouseholdIn.parse(
            {"uuid": visit_payload()["uuid"], "label": label, "head_name": head}
        ),
        member=w.volunteer,
        now=NOW,
    )
    session.commit()
    return twin


def test_a_merged_households_code_still_finds_it(session, world: World):
    from fieldkit import merge

    w = world
    headers = ["TT", "Thôn", "Số nhà", "Họ tên chủ hộ", "Mã hộ"]
    data = xlsx(headers, [[1, "Thôn Đông", "14", "Trần Thị Bình", "HB-14"]], numbering=False)
    run(session, w, preview(session, w, data))
    # The imported household merged into the field's twin: its code goes with it.
    twin = _twin(session, w, "14", "Tran Thi Binh")
    merge.merge_households(session, w.staff, twin.id, w.neighbour.id, now=NOW)
    session.commit()
    assert session.get(Household, twin.id).code == "HB-14"
    again = preview(session, w, data)
    assert again.preview["counts"]["households_new"] == 0
    assert again.preview["counts"]["households_updated"] == 1  # the file's spelling wins
    run(session, w, again)
    assert session.get(Household, twin.id).head_name == "Trần Thị Bình"

    # A survivor with a code of its own keeps it; the merged one's code leads to it.
    data = xlsx(headers, [[1, "Thôn Đông", "12", "Nguyễn Văn An", "HA-12"]], numbering=False)
    run(session, w, preview(session, w, data))
    other = _twin(session, w, "12", "Nguyen Van An")
    session.get(Household, other.id).code = "OTHER-12"
    session.commit()
    merge.merge_households(session, w.staff, other.id, w.household.id, now=NOW)
    session.commit()
    assert session.get(Household, w.household.id).code == "HA-12"
    again = preview(session, w, data)
    assert again.preview["counts"]["households_new"] == 0
    assert again.preview["updates"][0]["household_id"] == other.id


def test_indicators_and_visits_work_on_imported_households(session, world: World):
    w = world
    run(session, w, preview(session, w, xlsx(PERSON_HEADERS, EAST_FAMILIES, merge_key=1)))
    new = session.exec(select(Household).where(Household.code == "HK003")).one()
    person = households.residents_of(session, new)[0]
    visit_in = visits.VisitIn.parse(
        visit_payload(
            lines=[{"resident_id": person.id, "service_code": "vneid_level1", "result": "done"}]
        ),
        household_id=new.id,
    )
    visits.log_visit(session, visit_in, volunteer=w.volunteer, now=NOW)
    session.commit()
    numbers = indicators.village_indicators(session, scope=scope_for(w.staff))
    assert numbers
    assert_agrees(session, scope_for(w.staff))


def test_a_bom_is_not_part_of_the_first_header(session, world: World):
    data = codecs.BOM_UTF8 + "Số nhà,Chủ hộ,Thôn\n80,Kiều Văn Tám,Thôn Tây\n".encode()
    batch = preview(session, world, data, name="x.csv")
    assert imports.mapping_of(batch) == ["label", "head_name", "village"]


def test_formulas_are_never_stored(session, world: World):
    """An Excel formula keeps its computed value at most; one never computed, or text written
    as a formula (CSV), refuses its row."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Thôn", "Số nhà", "Chủ hộ", "Điện thoại thông minh"])
    sheet.append(["Thôn Tây", "90", "Lưu Văn Chín", "=1+1"])
    sheet.append(["Thôn Tây", "91", '=HYPERLINK("http://x","Bấm")', 1])
    out = io.BytesIO()
    book.save(out)
    batch = preview(session, world, out.getvalue())
    refused = dict(batch.preview["refused"])
    assert set(refused) == {3}
    run(session, world, batch)
    stored = snapshot(session)
    assert "=" not in repr(stored["households"]) + repr(stored["residents"])
    chin = session.exec(select(Household).where(Household.label == "90")).one()
    assert chin.smartphones is None  # a formula never computed is no value


def test_control_characters_never_reach_the_register(session, world: World):
    rows = [[1, "Thôn Tây", "95", "Tô Văn\x1bNăm", 1970, "Nam", "", "", "", ""]]
    batch = preview(session, world, csv_bytes(HOUSEHOLD_HEADERS, rows), name="ds.csv")
    if batch.preview["counts"]["households_new"]:
        run(session, world, batch)
    names = " ".join(h[3] for h in snapshot(session)["households"])
    assert "\x1b" not in names


def test_undo_removes_the_villages_it_created(session, world: World):
    w = world
    rows = [[1, "Thôn Mới Lập", "1", "Ngô Văn Một", 1970, "Nam", None, None, None, None]]
    batch = preview(session, w, xlsx(HOUSEHOLD_HEADERS, rows))
    imports.configure(session, batch, console(w), create_villages=["moi lap"], now=NOW)
    session.commit()
    before = count(session, Village)
    done = run(session, w, batch)
    assert count(session, Village) == before + 1
    imports.undo(session, done, console(w), now=NOW)
    session.commit()
    assert count(session, Village) == before
    assert_agrees(session, scope_for(w.staff))
