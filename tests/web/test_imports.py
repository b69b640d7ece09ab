"""The import pages (issue 15) through the real app: upload → preview → import (a job the page
polls) → the households listed; the mapping step; refused rows; the team and its invites;
duplicates in the review inbox and on household pages, and merging them."""

from __future__ import annotations

import io
import re

import openpyxl
from sqlmodel import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fieldkit import members
from fieldkit.models import (
    AuditEvent,
    Household,
    ImportBatch,
    ImportStatus,
    Member,
    SignInLink,
    utcnow,
)
from pwa import jobs
from tests.factories import add_household
from tests.import_files import (
    HOUSEHOLD_HEADERS,
    PERSON_HEADERS,
    csv_bytes,
    families,
    person_rows,
    roster_xlsx,
    xlsx,
)
from tests.qr import decode_svg

ROWS = [
    [1, "Thôn Tây", "30", "Vũ Văn Ba Mươi", 1975, "Nam", "912000030", 2, "Có", ""],
    [2, "Thôn Tây", "31", "Vũ Thị Ba Mốt", 1980, "Nữ", "", "", "", ""],
    [3, "Thôn Tây", "32", "", 1980, "Nữ", "", "", "", ""],
]


def upload(web, data: bytes, name: str = "ds.xlsx", url: str = "/imports", **fields):
    """Post a file as the page's form does. The body is built in memory: the test client would
    spool a large one to a temporary file that nothing closes after the request."""
    boundary, body = encode_multipart(
        {"csrf_token": web.csrf, "file": FileStorage(io.BytesIO(data), name), **fields}
    )
    return web.client.post(
        url,
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def batch_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))


def run_and_wait(web, app, number: int):
    response = web.post(f"/imports/{number}/run")
    assert response.status_code == 303
    jobs.wait(app, number)


def test_upload_preview_import_then_the_households_are_listed(web, app, db, world):
    web.sign_in(world.staff)
    page = web.get("/imports")
    assert page.status_code == 200
    assert "Tải tệp mẫu" in page.text
    number = batch_id(upload(web, xlsx(HOUSEHOLD_HEADERS, ROWS)))
    preview = web.get(f"/imports/{number}")
    text = preview.text
    assert "Xem trước" in text
    assert re.search(r"<b>2</b><span>hộ mới", text)
    assert "Dòng 8:" in text  # the row without a name, by the line Excel shows
    assert db.exec(select(func.count()).select_from(Household)).one() == 3  # nothing yet

    run_and_wait(web, app, number)
    db.expire_all()
    batch = db.get(ImportBatch, number)
    assert batch.status is ImportStatus.done, batch.error
    result = web.get(f"/imports/{number}")
    assert "Đã đưa vào" in result.text and "Hoàn tác đợt này" in result.text
    # The polled state now sends the page to its result.
    polled = web.get(f"/imports/{number}/status", headers={"HX-Request": "true"})
    assert polled.status_code == 204 and polled.headers["HX-Refresh"] == "true"
    listed = web.get("/households?q=vu+van+ba+muoi")
    assert "Vũ Văn Ba Mươi" in listed.text
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    # Clicked again: nothing happens twice.
    again = web.post(f"/imports/{number}/run", follow_redirects=True)
    assert "đã được đưa vào" in again.text
    assert db.exec(select(func.count()).select_from(Household)).one() == 5


def test_progress_is_shown_while_the_import_works(web, app, db, world):
    web.sign_in(world.staff)
    number = batch_id(upload(web, xlsx(HOUSEHOLD_HEADERS, ROWS)))
    batch = db.get(ImportBatch, number)
    batch.status = ImportStatus.queued  # as the job leaves it until its transaction commits
    batch.started_at = utcnow()
    db.add(batch)
    db.commit()
    page = web.get(f"/imports/{number}")
    assert 'hx-trigger="every 2s"' in page.text and "Đang đưa vào 3 dòng" in page.text
    fragment = web.get(f"/imports/{number}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="card import-progress"')
    assert fragment.headers["Cache-Control"] == "no-store"


def test_an_unknown_header_is_mapped_on_the_page(web, app, db, world):
    web.sign_in(world.staff)
    data = xlsx(["Hộ", "Người đứng tên", "Xóm"], [["70", "Cao Văn Bảy", "Thôn Tây"]])
    number = batch_id(upload(web, data))
    page = web.get(f"/imports/{number}")
    assert "Chưa có cột Họ và tên" in page.text
    response = web.post(
        f"/imports/{number}/options",
        data={"column-0": "label", "column-1": "head_name", "column-2": "village"},
    )
    assert response.status_code == 303
    page = web.get(f"/imports/{number}")
    assert re.search(r"<b>1</b><span>hộ mới", page.text)
    run_and_wait(web, app, number)
    assert db.exec(select(Household).where(Household.label == "70")).one().head_name == (
        "Cao Văn Bảy"
    )


def test_files_that_cannot_be_read_get_a_clear_message_and_nothing_is_kept(web, db, world):
    web.sign_in(world.staff)
    response = web.post("/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Hãy chọn tệp" in response.text
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    response = upload(web, old_excel, "ds.xls")
    assert response.status_code == 422 and ".xlsx" in response.text
    legacy = "Số nhà;Chủ hộ\n1;Đỗ Văn Một\n".encode("cp1258", errors="replace")
    response = upload(web, legacy, "ds.csv")
    assert response.status_code == 422 and "UTF-8" in response.text
    assert db.exec(select(func.count()).select_from(ImportBatch)).one() == 0


def test_a_file_larger_than_the_apps_usual_limit_is_accepted(web, db, world):
    """A 3 MB list passes (the app's other forms stop at 2 MB); past 20 MB is refused."""
    web.sign_in(world.staff)
    notes = "x" * 3000
    rows = [
        [i, "Thôn Tây", str(100 + i), f"Hộ Số {i}", 1970, "Nam", "", "", "", notes]
        for i in range(1000)
    ]
    headers = HOUSEHOLD_HEADERS[:-1] + ["Ghi chú"]
    data = csv_bytes(headers, rows)
    assert len(data) > 2.5 * 1024 * 1024
    number = batch_id(upload(web, data, "lon.csv"))
    assert db.get(ImportBatch, number).preview["counts"]["households_new"] == 1000
    huge = "Số nhà,Chủ hộ\n".encode() + b"1,A\n" * (6 * 1024 * 1024)
    assert upload(web, huge, "qua-lon.csv").status_code == 413


def test_refused_rows_download_and_templates(web, db, world):
    web.sign_in(world.staff)
    number = batch_id(upload(web, xlsx(HOUSEHOLD_HEADERS, ROWS)))
    refused = web.client.get(f"/imports/{number}/refused.csv")
    assert refused.status_code == 200
    text = refused.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Dòng,Lý do"
    assert text.splitlines()[1].startswith("8,")
    for url, sheet in (
        ("/imports/template.xlsx", "Hộ và nhân khẩu"),
        ("/imports/team-template.xlsx", "Danh sách tổ"),
    ):
        response = web.client.get(url)
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        assert sheet in openpyxl.load_workbook(io.BytesIO(response.data)).sheetnames


def test_a_leader_imports_for_their_village(web, app, db, world):
    web.sign_in(world.leader)
    page = web.get("/imports")
    assert "Các hộ được đưa vào Thôn Đông" in page.text
    people = families(5, ["Thôn Đông"], seed=3, first_house=200)
    number = batch_id(upload(web, xlsx(PERSON_HEADERS, person_rows(people), merge_key=1)))
    assert "Đã bỏ cột “Số CCCD”" in web.get(f"/imports/{number}").text
    run_and_wait(web, app, number)
    assert db.get(ImportBatch, number).status is ImportStatus.done
    web.sign_in(world.other_volunteer)
    assert web.get("/imports").status_code == 403


def test_the_offline_pack_refreshes_households_an_import_changed(web, app, db, world):
    web.sign_in(world.volunteer)
    before = {p["url"]: p["version"] for p in web.get("/api/v1/offline-pack").json["pages"]}
    web.sign_in(world.staff)
    rows = [[1, "Thôn Đông", "12", "Nguyễn Văn An", 1968, "Nam", "", "", "", ""]]
    people = [  # no household code: a "Chủ hộ" row starts each household
        ["1", "", "Thôn Đông", "12", "Nguyễn Văn An", "Chủ hộ", "1968", "Nam", "", ""],
        ["2", "", "", "", "Hoàng Thị Lan", "Vợ", "1972", "Nữ", "0912000777", ""],
    ]
    run_and_wait(web, app, batch_id(upload(web, xlsx(HOUSEHOLD_HEADERS, rows))))  # unchanged
    run_and_wait(web, app, batch_id(upload(web, xlsx(PERSON_HEADERS, people))))  # Lan's phone
    web.sign_in(world.volunteer)
    after = {p["url"]: p["version"] for p in web.get("/api/v1/offline-pack").json["pages"]}
    page = f"/households/{world.household.id}"
    assert after[page] != before[page]
    neighbour = f"/households/{world.neighbour.id}"
    assert after[neighbour] == before[neighbour]


def test_the_team_is_imported_and_its_invites_printed(web, db, world):
    web.sign_in(world.staff)
    data = roster_xlsx(
        [
            ["Ngô Thị Mai", "912111222", "Thành viên", "Thôn Đông"],
            ["Vương Văn Đức", "0912111333", "Tổ trưởng", "Thôn Tây"],
        ]
    )
    number = batch_id(upload(web, data, "to.xlsx", url="/imports/team"))
    page = web.get(f"/imports/{number}")
    assert "Ngô Thị Mai" in page.text and "0912111222" in page.text
    assert web.post(f"/imports/{number}/run").status_code == 303
    done = web.get(f"/imports/{number}")
    assert "In phiếu mời có mã QR (2 người)" in done.text
    sheet = web.post(f"/imports/{number}/invites")
    assert sheet.status_code == 200
    assert sheet.text.count('class="invite-card"') == 2
    assert sheet.text.count("<svg") == 2
    assert "Vương Văn Đức" in sheet.text
    links = db.exec(
        select(func.count()).select_from(SignInLink).where(SignInLink.member_id != world.staff.id)
    ).one()
    assert links == 2  # one fresh invite for each new member
    # Each printed code is a working one-time link for that person.
    svgs = re.findall(r"<svg.*?</svg>", sheet.text, re.S)
    urls = [decode_svg(svg) for svg in svgs]
    token = urls[0].rsplit("/signin/", 1)[1]
    assert members.redeem_sign_in_link(db, token, now=utcnow()).name == "Ngô Thị Mai"
    assert db.exec(select(Member).where(Member.phone == "0912111222")).one().name == "Ngô Thị Mai"


def test_duplicates_are_flagged_and_merged_from_the_review_inbox(web, db, world):
    twin = add_household(db, world.village, "12", "Nguyen Van An")
    db.commit()
    web.sign_in(world.volunteer)
    page = web.get(f"/households/{twin.id}")
    assert "Có thể trùng với hộ khác" in page.text
    assert "Gộp vào hộ này" not in page.text  # volunteers are told to ask commune staff
    web.sign_in(world.staff)
    inbox = web.get("/review")
    assert "Có thể trùng hộ" in inbox.text
    merge_url = f"/households/{world.household.id}/merge?from={twin.id}"
    assert merge_url.replace("?", "?").split("?")[0] in inbox.text
    confirm = web.get(merge_url)
    assert confirm.status_code == 200 and "Gộp hộ 12 vào hộ 12" in confirm.text
    response = web.post(f"/households/{world.household.id}/merge", data={"from": twin.id})
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Household, twin.id).merged_into_id == world.household.id
    survivor = web.get(f"/households/{world.household.id}")
    assert "Đã gộp từ hộ khác" in survivor.text
    # The old household's address opens the survivor.
    assert "Nguyễn Văn An" in web.get(f"/households/{twin.id}").text
    assert "Có thể trùng hộ" not in web.get("/review").text


def test_not_a_duplicate(web, db, world):
    other = add_household(db, world.village, "14", "Tran Thi Binh")
    db.commit()
    web.sign_in(world.staff)
    response = web.post(
        f"/households/{world.neighbour.id}/not-duplicate",
        data={"other": other.id, "back": "review"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/review")
    assert "Có thể trùng hộ" not in web.get("/review").text
    assert "Có thể trùng" not in web.get(f"/households/{other.id}").text


def test_hostile_values_are_not_found_never_a_server_error(web, db, world):
    web.sign_in(world.staff)
    for url in (
        f"/households/{world.household.id}/merge?from=²",
        f"/households/{world.household.id}/merge?from=99999999999999",
        f"/households/{world.household.id}/merge?from=-1",
        f"/households/{world.household.id}/merge",
        "/imports/2147483647",
    ):
        assert web.get(url).status_code == 404, url
    number = batch_id(upload(web, xlsx(HOUSEHOLD_HEADERS, ROWS)))
    response = web.post(
        f"/imports/{number}/options",
        data={"column-0": "label", "column-1": "label", "village_id": "²", "create_village": "x"},
    )
    assert response.status_code == 303
    response = web.post(f"/households/{world.household.id}/merge", data={"from": "abc"})
    assert response.status_code == 404
