"""The demo commune: realistic, deterministic data to try Fieldkit with and to measure it against
(`fieldkit demo`).

It is modelled on the former xã Vĩnh Hưng (huyện Vĩnh Lộc, Thanh Hóa), since 1 July 2025 part
of xã Vĩnh Lộc (seeds/000): 8 thôn, about 1,522 households and 6,236 residents, and a Tổ CNSCĐ
of 45 people, each village's team led by its party-cell secretary. `households=N` scales the
same commune up for benchmarks: one village per ~500 households, one volunteer per ~41.

Everything is drawn from one `random.Random(seed)` and from `now`; nothing reads the clock or
the global random state. The same (seed, households, now) on an empty database gives the same
rows, ids included.

Rows are written with bulk Core inserts in chunks, with ids assigned here, because building
100,000 households through ORM objects one by one takes many minutes (this way: about 45 s on
SQLite on a 2-core machine). For the same reason the households' summary columns are computed
here, by the rules of `fieldkit.households.refresh_summary()`, rather than by calling it per
household; tests compare the two.
"""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from sqlalchemy import exists, func, insert, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from fieldkit import admin_units, communes
from fieldkit.errors import Invalid, NotFound
from fieldkit.forms import VN_TZ, local_today
from fieldkit.models import (
    Assistance,
    Commune,
    Device,
    Household,
    HouseholdProgress,
    Member,
    Outcome,
    Reason,
    Resident,
    Result,
    ReviewState,
    Role,
    Sex,
    Village,
    VillageProgress,
    Visit,
)
from fieldkit.reporting import indicators
from fieldkit.text import fold, thousands
from fieldkit.visits import AssistanceIn, VisitIn

# --- the shape of the commune ----------------------------------------------------------------

# Vĩnh Hưng: 1,522 households in 8 thôn, a team of 45 (8 leaders and 37 members).
HOUSEHOLDS_PER_VILLAGE = 500  # when scaled up: a large thôn after the 2025 mergers
HOUSEHOLDS_PER_VOLUNTEER = 1520 / 37
VISIT_DAYS = 100  # the campaign so far
RECENT = timedelta(days=14)  # staff have not reviewed most of the last two weeks yet
ASSIGNED_SHARE = 0.85
CHUNK = 2000  # households per bulk write; bounds memory at 200,000 households

CONSENT_VERSION = "2025-1"
CONSENT_PURPOSES = "Hỗ trợ dịch vụ công trực tuyến"

VILLAGES = [
    "Bái Đô",
    "Yên Tôn",
    "Đông Mỹ",
    "Thượng Bản",
    "Phù Lưu",
    "Hạ Kênh",
    "Mỹ Sơn",
    "Trung Tiến",
]
# Syllables for the further villages of a scaled-up commune: 30 × 30 names.
_FIRST = [
    "An",
    "Bồng",
    "Cao",
    "Đông",
    "Đồng",
    "Hạ",
    "Hòa",
    "Hưng",
    "Kim",
    "Lạc",
    "Mỹ",
    "Nghĩa",
    "Ngọc",
    "Phú",
    "Phúc",
    "Phù",
    "Quang",
    "Sơn",
    "Tân",
    "Tây",
    "Thái",
    "Thanh",
    "Thịnh",
    "Thọ",
    "Thượng",
    "Trung",
    "Vĩnh",
    "Xuân",
    "Yên",
    "Bái",
]
_SECOND = [
    "Bản",
    "Bắc",
    "Điền",
    "Đô",
    "Đông",
    "Giai",
    "Hạ",
    "Hòa",
    "Hưng",
    "Khê",
    "Lộc",
    "Long",
    "Lưu",
    "Lý",
    "Môn",
    "Nam",
    "Ngoại",
    "Nội",
    "Phong",
    "Phú",
    "Quan",
    "Sơn",
    "Tây",
    "Thành",
    "Thượng",
    "Tiến",
    "Tôn",
    "Trang",
    "Trì",
    "Xá",
]
XOM = [
    "Xóm Trại",
    "Xóm Chùa",
    "Xóm Giữa",
    "Xóm Đồng",
    "Xóm Bến",
    "Xóm Đình",
    "Xóm Cầu",
    "Xóm Mới",
    "Xóm Trên",
    "Xóm Dưới",
    "Xóm Rộc",
    "Xóm Gò",
    "Xóm Ao",
    "Xóm Núi",
]
ROADS = [
    "Đường trục thôn",
    "Đường liên xã",
    "Đường ra đồng",
    "Ven đê sông Mã",
    "Ngõ 2",
    "Ngõ 3",
    "Ngõ 5",
    "Ngõ 7",
    "Ngõ 9",
]
LANDMARKS = [
    "gần nhà văn hóa",
    "cạnh cổng chùa",
    "đối diện trường mầm non",
    "sau đình làng",
    "gần trạm y tế",
    "cạnh cửa hàng tạp hóa",
    "đầu cầu",
    "gần trạm bơm",
    "cuối ngõ",
    "bên kênh Bắc",
    "cạnh sân bóng",
    "gần giếng làng",
    "sát bờ tre",
]


@dataclass(frozen=True)
class History:
    """How a household's visits unfold: over the last `days` days, up to `visits` visits; after
    a visit that set a follow-up date the volunteer comes back with probability `after_follow_up`,
    otherwise with probability `again`, `gap` days later; each village reaches a share of its
    households drawn from `reach`."""

    days: int = VISIT_DAYS
    visits: int = 3
    after_follow_up: float = 0.7
    again: float = 0.15
    gap: tuple[int, int] = (5, 30)
    reach: tuple[float, float] = (0.55, 0.82)


COMMUNE_HISTORY = History()
# The province demo (issue 14): two years of the campaign, most households visited again and
# again (a new service, a family member home from work, level 2 at the police) — about ten
# visits a household, the ~10 million visits of a province of a million households.
PROVINCE_HISTORY = History(
    days=730, visits=40, after_follow_up=0.95, again=0.95, gap=(7, 30), reach=(0.9, 0.99)
)

# --- names -----------------------------------------------------------------------------------

# Weights follow national surveys, with more Lê and Trịnh as in Thanh Hóa.
SURNAMES = [
    ("Nguyễn", 34),
    ("Lê", 12),
    ("Trần", 8),
    ("Phạm", 6),
    ("Hoàng", 3),
    ("Vũ", 2),
    ("Võ", 1),
    ("Đặng", 2),
    ("Bùi", 3),
    ("Đỗ", 3),
    ("Hồ", 1),
    ("Ngô", 1.5),
    ("Dương", 1),
    ("Lý", 0.5),
    ("Trịnh", 3),
    ("Mai", 2),
    ("Đinh", 1.5),
    ("Lương", 1),
    ("Phan", 1.5),
    ("Hà", 1.5),
    ("Tống", 0.5),
    ("Cao", 1),
    ("Lưu", 0.5),
    ("Tạ", 0.5),
    ("Quách", 0.5),
]
# Middle names: Văn and Thị dominate among people born before the mid-1980s.
MIDDLE = {
    (Sex.male, True): [
        ("Văn", 55),
        ("Đức", 8),
        ("Hữu", 6),
        ("Đình", 6),
        ("Xuân", 5),
        ("Công", 5),
        ("Minh", 4),
        ("Quang", 4),
        ("Ngọc", 3),
        ("Bá", 2),
    ],
    (Sex.male, False): [
        ("Văn", 20),
        ("Đức", 12),
        ("Minh", 14),
        ("Quang", 8),
        ("Hoàng", 6),
        ("Gia", 6),
        ("Anh", 5),
        ("Thành", 5),
        ("Hữu", 4),
        ("Đăng", 4),
        ("Bảo", 6),
    ],
    (Sex.female, True): [
        ("Thị", 75),
        ("Thu", 5),
        ("Ngọc", 4),
        ("Thanh", 5),
        ("Hồng", 4),
        ("Kim", 3),
        ("Minh", 2),
    ],
    (Sex.female, False): [
        ("Thị", 25),
        ("Thu", 10),
        ("Ngọc", 10),
        ("Thanh", 8),
        ("Phương", 7),
        ("Khánh", 6),
        ("Bảo", 6),
        ("Minh", 6),
        ("Hà", 5),
        ("Thùy", 6),
        ("Diệu", 3),
    ],
}
GIVEN = {
    (Sex.male, True): [
        "Hùng",
        "Dũng",
        "Tuấn",
        "Hải",
        "Nam",
        "Sơn",
        "Thắng",
        "Long",
        "Cường",
        "Bình",
        "Hòa",
        "Trung",
        "Phong",
        "Tùng",
        "Lâm",
        "Lợi",
        "Mạnh",
        "Nghĩa",
        "Thành",
        "Thịnh",
        "Toàn",
        "Vinh",
        "Chiến",
        "Đông",
        "Hưng",
        "Lực",
        "Tâm",
        "Tiến",
        "Quý",
        "Tư",
        "Sáu",
        "Bảy",
        "Khải",
        "Thuận",
    ],
    (Sex.male, False): [
        "Huy",
        "Khôi",
        "Phúc",
        "Bảo",
        "Đạt",
        "Hiếu",
        "Kiên",
        "Khang",
        "Minh",
        "Nam",
        "Quân",
        "Duy",
        "An",
        "Khoa",
        "Lộc",
        "Tuấn",
        "Việt",
        "Đức",
        "Hoàng",
        "Trí",
        "Thái",
        "Long",
        "Hưng",
        "Sơn",
        "Nhật",
        "Tú",
    ],
    (Sex.female, True): [
        "Lan",
        "Hoa",
        "Hương",
        "Hằng",
        "Mai",
        "Nga",
        "Nhung",
        "Oanh",
        "Phương",
        "Tuyết",
        "Vân",
        "Yến",
        "Hạnh",
        "Huệ",
        "Loan",
        "Liên",
        "Dung",
        "Hiền",
        "Thủy",
        "Xuân",
        "Hồng",
        "Đào",
        "Lụa",
        "Thơm",
        "Nụ",
        "Sen",
        "Tâm",
        "Lý",
        "Cúc",
        "Gái",
    ],
    (Sex.female, False): [
        "Linh",
        "Trang",
        "Thảo",
        "Ngân",
        "Quỳnh",
        "Vy",
        "Huyền",
        "Anh",
        "Chi",
        "My",
        "Hà",
        "Ngọc",
        "Nhi",
        "Uyên",
        "Hân",
        "Giang",
        "Diệp",
        "Hương",
        "Mai",
        "Trâm",
        "Thư",
        "Yến",
        "Châu",
        "Khuê",
    ],
}
MOBILE_PREFIXES = [
    "091",
    "094",
    "088",
    "098",
    "097",
    "096",
    "086",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "081",
    "082",
    "083",
    "084",
    "085",
    "089",
    "090",
    "093",
]
STAFF = [("Lê Văn Chung", "0912"), ("Nguyễn Thị Thu Hà", "0945")]  # VH–XH officer; một cửa
ADMIN = "Trịnh Đình Khoa"

# --- visits ----------------------------------------------------------------------------------

HOURS = [
    (7, 4),
    (8, 8),
    (9, 8),
    (10, 6),
    (14, 6),
    (15, 8),
    (16, 10),
    (17, 10),
    (18, 8),
    (19, 8),
    (20, 4),
]  # Youth Union members visit after work and in the evening
OUTCOMES = [
    (Outcome.met, 80.5),
    (Outcome.not_home, 12),
    (Outcome.declined, 4),
    (Outcome.moved, 1.5),
]
LINES_PER_VISIT = [(1, 30), (2, 35), (3, 22), (4, 13)]
# Half the help asked for is VNeID; the rest follows the Đề án 06 indicators.
VNEID_SHARE = 0.5
OTHER_SERVICES = [
    ("dvcqg_login", 9),
    ("payment_account", 9),
    ("health_book", 8),
    ("digital_literacy", 6),
    ("online_safety", 5),
    ("online_procedure", 3),
    ("online_payment", 2),
    ("vssid", 2),
    ("province_app", 2),
    ("zalo_group", 2),
    ("etax", 1),
    ("ecommerce", 0.5),
    ("digital_signature", 0.5),
    ("other", 0.5),
]
# The VNeID ladder a resident climbs: none → level 1 → activated → level 2 (by the police).
LADDER = ["vneid_level1", "vneid_activate", "vneid_level2"]
# Where residents stood before the campaign (police drives had reached many already).
LADDER_START = [(0, 35), (1, 17), (2, 28), (3, 20)]
RESULTS = {
    "vneid_level1": [
        (Result.done, 74),
        (Result.partial, 8),
        (Result.failed, 15),
        (Result.referred, 3),
    ],
    "vneid_activate": [
        (Result.done, 70),
        (Result.partial, 10),
        (Result.failed, 15),
        (Result.referred, 5),
    ],
    "vneid_level2": [(Result.referred, 85), (Result.done, 10), (Result.failed, 5)],
    "vneid_recovery": [(Result.done, 65), (Result.failed, 20), (Result.referred, 15)],
    None: [(Result.done, 72), (Result.partial, 14), (Result.failed, 11), (Result.referred, 3)],
}
FAILURES = {
    "vneid_level1": [
        (Reason.no_smartphone, 4),
        (Reason.no_chip_id, 3),
        (Reason.no_sim, 3),
        (Reason.no_signal, 2),
        (Reason.system_error, 2),
    ],
    "vneid_activate": [
        (Reason.no_sim, 4),
        (Reason.forgot_password, 3),
        (Reason.system_error, 3),
        (Reason.no_signal, 2),
    ],
    "vneid_level2": [(Reason.no_chip_id, 1)],
    "vneid_recovery": [(Reason.no_sim, 3), (Reason.forgot_password, 2), (Reason.system_error, 2)],
    None: [
        (Reason.no_smartphone, 3),
        (Reason.no_signal, 2),
        (Reason.forgot_password, 2),
        (Reason.system_error, 2),
        (Reason.not_interested, 2),
        (Reason.other, 1),
    ],
}
PARTIAL_REASONS = [Reason.no_signal, Reason.system_error, Reason.forgot_password, Reason.other]
DEVICES = [(Device.own, 62), (Device.family, 23), (Device.volunteer, 15)]
REVIEW_OLD = [
    (ReviewState.approved, 93),
    (ReviewState.pending, 3),
    (ReviewState.returned, 2),
    (ReviewState.rejected, 2),
]
REVIEW_RECENT = [
    (ReviewState.pending, 82),
    (ReviewState.approved, 14),
    (ReviewState.returned, 2.5),
    (ReviewState.rejected, 1.5),
]
NOTES = {
    Outcome.met: [
        "Bà cụ ở một mình, cần quay lại hướng dẫn thêm",
        "Hướng dẫn cả nhà nhận biết tin nhắn lừa đảo",
        "Con trai đi làm xa, hẹn về làm mức 2 tại công an xã",
        "Điện thoại đời cũ, không cài được ứng dụng",
        "Ông cụ muốn xem lương hưu trên VssID",
        "Chị chủ hộ nhờ hướng dẫn nộp học phí cho con qua ngân hàng",
    ],
    Outcome.not_home: [
        "Cả nhà đi làm đồng",
        "Nhà khóa cửa, hẹn tối quay lại",
        "Chủ hộ làm ở khu công nghiệp, chỉ ở nhà Chủ nhật",
        "Gọi điện không nghe máy",
    ],
    Outcome.declined: [
        "Người dân chưa muốn cài, sợ lộ thông tin",
        "Ông bà bảo đã có con cháu làm giúp",
        "Hẹn khi nào rảnh sẽ tự lên nhà văn hóa",
    ],
    Outcome.moved: [
        "Cả nhà đã chuyển vào Bình Dương làm ăn",
        "Đã chuyển ra ở với con ở phường Hạc Thành",
        "Nhà bỏ trống, đã bán đất",
    ],
}


def _table(pairs):
    """(values, cumulative weights) for `_Builder.pick`, computed once."""
    values, weights = zip(*pairs, strict=True)
    return list(values), list(accumulate(weights))


def _spread(total: int, weights: Sequence[float], minimum: int) -> list[int]:
    """`total` split in proportion to `weights`, each share at least `minimum`, by largest
    remainder (ties to the first), so the parts always add up to `total`."""
    rest = total - minimum * len(weights)
    whole = sum(weights)
    exact = [rest * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [minimum + p for p in parts]


# --- writing ---------------------------------------------------------------------------------

_MODELS = (Village, Member, Household, Resident, Visit, Assistance)


class _Rows:
    """Rows buffered per table and written with Core executemany, parents before children so
    foreign keys hold at every write. Ids continue from the largest id already in each table.
    With `copy` on PostgreSQL they go in with COPY instead (several times faster: the
    province demo writes tens of millions of rows), each value through the column type's own
    bind processor, so the stored values are those an INSERT would store."""

    def __init__(self, connection: Connection, *, copy: bool = False):
        self.connection = connection
        self.copy = copy and connection.dialect.name == "postgresql"
        # SQLModel sets __table__ on table models without declaring it.
        self.tables = [model.__table__ for model in _MODELS]  # type: ignore[union-attr]
        self.next_id: dict[str, int] = {}
        for table in self.tables:
            largest = connection.execute(select(func.max(table.c.id))).scalar()
            self.next_id[table.name] = (largest or 0) + 1
        self.pending: dict[str, list[dict]] = {table.name: [] for table in self.tables}
        self.written = {table.name: 0 for table in self.tables}

    def add(self, model, row: dict) -> int:
        """Queue `row` (every column given, so no Python-side default reads the clock);
        returns its id."""
        name = model.__tablename__
        row["id"] = row_id = self.next_id[name]
        self.next_id[name] += 1
        self.pending[name].append(row)
        return row_id

    def write(self) -> None:
        for table in self.tables:
            rows = self.pending[table.name]
            if rows:
                self.bulk(table, rows)
                self.written[table.name] += len(rows)
                self.pending[table.name] = []

    def bulk(self, table, rows: list[dict]) -> None:
        """Write `rows` (dicts with the same keys) into `table` now."""
        if not rows:
            return
        if not self.copy:
            self.connection.execute(insert(table), rows)
            return
        dialect = self.connection.dialect
        names = list(rows[0])
        processors = [table.c[name].type.bind_processor(dialect) for name in names]
        columns = ", ".join(f'"{name}"' for name in names)
        driver = self.connection.connection.driver_connection
        assert driver is not None  # a connection in use holds its psycopg connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(
                    [
                        process(row[name]) if process and row[name] is not None else row[name]
                        for name, process in zip(names, processors, strict=True)
                    ]
                )

    def advance_sequences(self) -> None:
        """PostgreSQL hands out ids from sequences that explicit ids do not move; move them
        past our rows so the app's next insert gets a free id. SQLite needs nothing."""
        if self.connection.dialect.name != "postgresql":
            return
        for table in self.tables:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
            )


# --- the builder -----------------------------------------------------------------------------


@dataclass
class _Person:
    name: str
    born: int
    sex: Sex
    relation: str


class _Builder:
    """Draws the commune household by household and queues its rows. Every random choice
    goes through `self.rng` in a fixed order, which is what makes the demo reproducible."""

    def __init__(
        self,
        rng: random.Random,
        rows: _Rows,
        commune: Commune,
        now: datetime,
        *,
        history: History = COMMUNE_HISTORY,
        phones: set[str] | None = None,
    ):
        self.rng = rng
        self.rows = rows
        self.commune = commune
        self.now = now
        self.history = history
        self.today = local_today(now)
        self.year = self.today.year
        self.latest_visit = now - timedelta(minutes=15)  # every visit was sent already
        # Shared by the communes of a province demo, so a phone number is never given twice.
        self.phones: set[str] = set() if phones is None else phones
        self.surnames = _table(SURNAMES)
        self.middle = {key: _table(pairs) for key, pairs in MIDDLE.items()}
        self.hours = _table(HOURS)
        self.outcomes = _table(OUTCOMES)
        self.lines_per_visit = _table(LINES_PER_VISIT)
        self.other_services = _table(OTHER_SERVICES)
        self.ladder_start = _table(LADDER_START)
        self.results = {code: _table(pairs) for code, pairs in RESULTS.items()}
        self.failures = {code: _table(pairs) for code, pairs in FAILURES.items()}
        self.devices = _table(DEVICES)
        self.review_old = _table(REVIEW_OLD)
        self.review_recent = _table(REVIEW_RECENT)
        # The commune's one-stop-shop code in dossier numbers (mã hồ sơ): H38.123-yymmdd-nnnn.
        self.dossier_prefix = f"H{commune.province_code}.{rng.randint(100, 999)}"

    def pick(self, table):
        """One value of a `_table`, by weight: `random.choices` without its per-call
        overhead, which shows at millions of draws."""
        values, cumulative = table
        return values[bisect(cumulative, self.rng.random() * cumulative[-1], 0, len(values) - 1)]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def phone(self) -> str:
        while True:
            number = f"{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**7):07d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    # People ------------------------------------------------------------------------------

    def name(self, sex: Sex, born: int, surname: str | None = None) -> str:
        older = born < 1985
        middle = self.pick(self.middle[sex, older])
        given = self.rng.choice(GIVEN[sex, older])
        if given == middle:  # "Minh Minh" is not a name
            given = self.rng.choice(GIVEN[sex, older])
        return f"{surname or self.pick(self.surnames)} {middle} {given}"

    def person(self, relation: str, sex: Sex, born: int, surname: str | None = None) -> _Person:
        return _Person(self.name(sex, born, surname), born, sex, relation)

    def surname_of(self, person: _Person) -> str:
        return person.name.split(" ", 1)[0]

    def couple(self, head_age: tuple[int, int]) -> tuple[_Person, _Person, _Person]:
        """Head and spouse; returns (head, spouse, father of their children)."""
        rng = self.rng
        head_sex = Sex.male if rng.random() < 0.82 else Sex.female
        head_born = self.year - rng.randint(*head_age)
        head = self.person("Chủ hộ", head_sex, head_born)
        if head_sex is Sex.male:  # wives are mostly a few years younger
            spouse = self.person(
                "Vợ", Sex.female, min(head_born + rng.randint(-1, 6), self.year - 19)
            )
            return head, spouse, head
        spouse = self.person("Chồng", Sex.male, head_born - rng.randint(-1, 5))
        return head, spouse, spouse

    def children(
        self,
        count: int,
        relation: str,
        mother_born: int,
        surname: str,
        mother_from: int = 20,
        mother_to: int = 42,
    ) -> list[_Person]:
        """`count` children born when their mother was `mother_from`–`mother_to`, eldest first,
        none born after this year."""
        low = min(mother_born + mother_from, self.year)
        high = max(low, min(mother_born + mother_to, self.year))
        births = sorted(self.rng.randint(low, high) for _ in range(count))
        return [
            self.person(relation, self.rng.choice((Sex.male, Sex.female)), born, surname)
            for born in births
        ]

    def family(self, size: int) -> list[_Person]:
        """The residents of one household, head (Chủ hộ) first, with birth years that fit
        their relations: children 20–42 years younger than their mother, a Con dâu near her
        husband's age, grandchildren after their parents."""
        rng = self.rng
        if size == 1:  # mostly an elderly widow whose children work away
            elderly = rng.random() < 0.7
            sex = Sex.female if rng.random() < (0.7 if elderly else 0.4) else Sex.male
            age = rng.randint(62, 90) if elderly else rng.randint(24, 58)
            return [self.person("Chủ hộ", sex, self.year - age)]
        if size == 2:
            if rng.random() < 0.8:
                head, spouse, _ = self.couple((58, 85) if rng.random() < 0.6 else (22, 35))
                return [head, spouse]
            head = self.person("Chủ hộ", Sex.female, self.year - rng.randint(58, 85))
            return [head, *self.children(1, "Con", head.born, self.surname_of(head), 22, 40)]
        shape = rng.random()
        if size <= 6 and shape < 0.55:
            return self.nuclear(size)
        if (size <= 6 and shape < 0.85) or (size > 6 and shape < 0.6):
            return self.with_grandchildren(size)
        return self.with_parents(size)

    def nuclear(self, size: int) -> list[_Person]:
        head, spouse, father = self.couple((26, 62))
        mother = spouse if father is head else head
        return [head, spouse, *self.children(size - 2, "Con", mother.born, self.surname_of(father))]

    def with_grandchildren(self, size: int) -> list[_Person]:
        """Grandparents at the head: a married child's family lives with them, or they raise
        grandchildren whose parents work in the industrial zones."""
        rng = self.rng
        head, spouse, father = self.couple((50, 78))
        mother = spouse if father is head else head
        family = [head, spouse]
        rest = size - 2
        if rest >= 2 and rng.random() < 0.75:
            child_born = min(rng.randint(mother.born + 20, mother.born + 34), self.year - 22)
            in_law_born = min(child_born + rng.randint(-2, 4), self.year - 20)
            if rng.random() < 0.85:  # a son and his wife (Con dâu)
                child = self.person("Con", Sex.male, child_born, self.surname_of(father))
                in_law = self.person("Con dâu", Sex.female, in_law_born)
                young_mother, young_father = in_law, child
            else:  # a daughter and her husband (Con rể)
                child = self.person("Con", Sex.female, child_born, self.surname_of(father))
                in_law = self.person("Con rể", Sex.male, child_born - rng.randint(0, 4))
                young_mother, young_father = child, in_law
            family += [
                child,
                in_law,
                *self.children(rest - 2, "Cháu", young_mother.born, self.surname_of(young_father)),
            ]
            return family
        for _ in range(rest):
            if rng.random() < 0.6:
                born = self.year - rng.randint(2, 15)
                surname = self.surname_of(father) if rng.random() < 0.8 else None
                family.append(
                    self.person("Cháu", rng.choice((Sex.male, Sex.female)), born, surname)
                )
            else:
                family += self.children(1, "Con", mother.born, self.surname_of(father))
        return family

    def with_parents(self, size: int) -> list[_Person]:
        """A younger couple with their children and the head's widowed mother or both
        parents."""
        rng = self.rng
        head, spouse, father = self.couple((28, 52))
        mother = spouse if father is head else head
        both = size >= 4 and rng.random() < 0.35
        elders = []
        if both or rng.random() < 0.3:
            elders.append(
                self.person("Bố", Sex.male, head.born - rng.randint(23, 34), self.surname_of(head))
            )
        if both or not elders:
            elders.append(self.person("Mẹ", Sex.female, head.born - rng.randint(20, 32)))
        kids = self.children(size - 2 - len(elders), "Con", mother.born, self.surname_of(father))
        return [head, spouse, *kids, *elders]

    def smartphones(self, family: list[_Person]) -> int:
        count = 0
        for person in family:
            age = self.year - person.born
            chance = 0.9 if 15 <= age <= 60 else 0.45 if 60 < age <= 75 else 0.1 if age > 75 else 0
            count += self.rng.random() < chance
        return min(count, 4)

    # Villages, members -------------------------------------------------------------------

    def village_names(self, count: int) -> list[str]:
        """The 8 villages of the seed commune, then distinct two-syllable names."""
        names = list(VILLAGES[:count])
        taken = set(names)
        pairs = [f"{first} {second}" for first in _FIRST for second in _SECOND if first != second]
        self.rng.shuffle(pairs)
        lap = 0
        while len(names) < count:  # when the pairs run out, the next round is numbered
            lap += 1
            for pair in pairs:
                name = pair if lap == 1 else f"{pair} {lap}"
                if len(names) < count and name not in taken:
                    taken.add(name)
                    names.append(name)
        return [f"Thôn {name}" for name in names]

    def member(
        self, *, role: Role, village_id: int | None, name: str, phone: str, created_at: datetime
    ) -> int:
        return self.rows.add(
            Member,
            dict(
                commune_id=self.commune.id,
                village_id=village_id,
                name=name,
                phone=phone,
                role=role,
                active=True,
                created_at=created_at,
            ),
        )

    # Households --------------------------------------------------------------------------

    def labels(self, count: int) -> list[str]:
        """House numbers ("12", "27A") or, in villages numbered by xóm, "Xóm 3 - số 5"."""
        rng = self.rng
        labels = []
        if rng.random() < 0.55:
            number, split = 0, False
            for _ in range(count):
                if number and not split and rng.random() < 0.06:
                    labels.append(f"{number}A")  # a plot divided between two brothers
                    split = True
                    continue
                number += self.pick(((1, 2, 3), (70, 90, 100)))
                split = False
                labels.append(str(number))
            return labels
        hamlets = max(1, round(count / 35))
        numbers = [0] * hamlets
        for index in range(count):
            hamlet = index * hamlets // count
            numbers[hamlet] += 1
            labels.append(f"Xóm {hamlet + 1} - số {numbers[hamlet]}")
        return labels

    def address_hint(self, places: list[str], share: float) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            return ""
        place = places[min(int(share * len(places)), len(places) - 1)]
        if rng.random() < 0.6:
            return f"{place}, {rng.choice(LANDMARKS)}"
        return place

    def village(
        self, village_id: int, count: int, volunteers: list[int], leader: int, created: datetime
    ) -> None:
        """`count` households of one village, each volunteer of `volunteers` taking a stretch
        of neighbouring houses; the lists were entered from `created` on."""
        rng = self.rng
        labels = self.labels(count)
        numbered_by_xom = labels[0].startswith("Xóm")
        places = ROADS if numbered_by_xom else rng.sample(XOM, rng.randint(4, 6))
        # Old families of a thôn share a few surnames (họ Lê in one, họ Trịnh in the next).
        weights = dict(SURNAMES)
        for clan in rng.sample(list(weights), 2):
            weights[clan] *= 3
        self.surnames = _table(list(weights.items()))
        # Villages move at different speeds, which is what the dashboards are for.
        reach = rng.uniform(*self.history.reach)
        for index in range(count):
            block = volunteers[index * len(volunteers) // count]
            assigned = block if rng.random() < ASSIGNED_SHARE else None
            self.household(
                village_id,
                labels[index],
                self.address_hint(places, index / count),
                assigned,
                volunteers,
                leader,
                reach,
                created,
            )
            if len(self.rows.pending["household"]) >= CHUNK:
                self.rows.write()

    def household(
        self,
        village_id: int,
        label: str,
        address_hint: str,
        assigned: int | None,
        volunteers: list[int],
        leader: int,
        reach: float,
        created: datetime,
    ) -> None:
        rng = self.rng
        size = self.pick(((1, 2, 3, 4, 5, 6, 7, 8), (5, 18, 36, 61, 80, 92, 97, 100)))
        family = self.family(size)
        head = family[0]
        smartphones = self.smartphones(family)
        internet = rng.random() < (0.85 if smartphones else 0.3)
        entered = created + timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 480))
        row = dict(
            uuid=self.uuid(),
            village_id=village_id,
            label=label,
            head_name=head.name,
            address_hint=address_hint,
            smartphones=smartphones,
            internet_at_home=internet,
            assigned_volunteer_id=assigned,
            consent_version=CONSENT_VERSION,
            consent_purposes=CONSENT_PURPOSES,
            consent_method="verbal",
            consent_at=entered,
            review_state=ReviewState.approved,
            proposed_by_id=None,
            created_at=entered,
            search_text="",
            last_visited_at=None,
            follow_up_on=None,
            visit_count=0,
        )
        household_id = self.rows.add(Household, row)
        residents = []
        for person in family:
            phone = None
            if person.relation == "Chủ hộ" and rng.random() < 0.55:
                phone = self.phone()
            resident_id = self.rows.add(
                Resident,
                dict(
                    uuid=self.uuid(),
                    household_id=household_id,
                    name=person.name,
                    birth_year=person.born,
                    sex=person.sex,
                    relation=person.relation,
                    phone=phone,
                    review_state=ReviewState.approved,
                    added_by_id=None,
                    created_at=entered,
                ),
            )
            residents.append((resident_id, person))
        # The cached summary, by the rules of households.refresh_summary(): residents in id
        # order (the order they were added), and the latest non-rejected visit.
        row["search_text"] = fold(
            " ".join([label, head.name, address_hint, *(person.name for _, person in residents)])
        )
        if rng.random() < reach:
            visits = self.visit_history(
                household_id, residents, assigned, volunteers, leader, smartphones, internet
            )
            kept = [visit for visit in visits if visit["review_state"] != ReviewState.rejected]
            if kept:
                latest = max(kept, key=lambda visit: (visit["visited_at"], visit["id"]))
                row.update(
                    visit_count=len(kept),
                    last_visited_at=latest["visited_at"],
                    follow_up_on=latest["follow_up_on"],
                )

    # Visits ------------------------------------------------------------------------------

    def moment(self, day: date) -> datetime | None:
        """A time of day on `day` (Vietnam) when volunteers visit, as UTC; None when it
        would be after the latest time a visit could have been made and sent."""
        hour = self.pick(self.hours)
        local = datetime.combine(day, time(hour, self.rng.randrange(60)), tzinfo=VN_TZ)
        at = local.astimezone(UTC)
        return at if at <= self.latest_visit else None

    def visit_history(
        self,
        household_id: int,
        residents,
        assigned: int | None,
        volunteers: list[int],
        leader: int,
        smartphones: int,
        internet: bool,
    ) -> list[dict]:
        """One to three visits in the last VISIT_DAYS days: a follow-up date brings the
        volunteer back, usually; a household that moved away is not visited again."""
        rng = self.rng
        day = self.today - timedelta(days=rng.randrange(self.history.days))
        ladder: dict[int, int] = {}  # resident id → VNeID steps done
        visits = []
        for _ in range(self.history.visits):
            at = self.moment(day)
            if at is None:
                break
            if assigned is not None and rng.random() < 0.9:
                volunteer = assigned
            else:  # a neighbour's volunteer, or the leader, called at this door
                volunteer = leader if rng.random() < 0.2 else rng.choice(volunteers)
            outcome = self.pick(self.outcomes)
            lines = (
                self.lines(residents, ladder, smartphones, day) if outcome is Outcome.met else []
            )
            follow_up = self.follow_up(outcome, lines, day)
            visits.append(
                self.visit(
                    household_id, volunteer, at, outcome, lines, follow_up, smartphones, internet
                )
            )
            if outcome is Outcome.moved:
                break
            if follow_up is not None:
                if rng.random() > self.history.after_follow_up:
                    break  # left due or overdue: what the leader's list is for
                day = follow_up + timedelta(days=rng.choice((0, 0, 1, 2, 4)))
            else:
                if rng.random() > self.history.again:
                    break
                day += timedelta(days=rng.randint(*self.history.gap))
            if day > self.today:
                break
        return visits

    def follow_up(self, outcome: Outcome, lines: list[AssistanceIn], day: date) -> date | None:
        rng = self.rng
        if outcome is Outcome.not_home:
            chance, days = 0.6, (1, 7)
        elif outcome is Outcome.declined:
            chance, days = 0.1, (14, 45)
        elif outcome is Outcome.met and any(line.result is not Result.done for line in lines):
            chance, days = 0.5, (3, 21)
        elif outcome is Outcome.met:
            chance, days = 0.08, (7, 30)
        else:
            return None
        if rng.random() >= chance:
            return None
        return day + timedelta(days=rng.randint(*days))

    def lines(
        self, residents, ladder: dict[int, int], smartphones: int, day: date
    ) -> list[AssistanceIn]:
        """1–4 assistance lines, each a different (resident, service), mostly for adults."""
        rng = self.rng
        adults = [(rid, p) for rid, p in residents if 15 <= self.year - p.born <= 85]
        wanted = self.pick(self.lines_per_visit)
        lines: list[AssistanceIn] = []
        seen: set[tuple[int, str]] = set()
        for _ in range(wanted * 3):
            if len(lines) == wanted:
                break
            pool = adults if adults and rng.random() < 0.95 else residents
            resident_id, _ = rng.choice(pool)
            if rng.random() < VNEID_SHARE:
                if resident_id not in ladder:
                    ladder[resident_id] = self.pick(self.ladder_start)
                step = ladder[resident_id]
                if step < len(LADDER):
                    code = LADDER[step]
                elif rng.random() < 0.4:  # at the top: a new phone, a forgotten password
                    code = "vneid_recovery"
                else:
                    code = self.pick(self.other_services)
            else:
                code = self.pick(self.other_services)
            if (resident_id, code) in seen:
                continue
            seen.add((resident_id, code))
            line = self.line(resident_id, code, smartphones, day)
            if code in LADDER and line.result in (Result.done, Result.referred):
                ladder[resident_id] = LADDER.index(code) + 1
            lines.append(line)
        return lines

    def line(self, resident_id: int, code: str, smartphones: int, day: date) -> AssistanceIn:
        rng = self.rng
        kind = code if code in self.results else None
        result = self.pick(self.results[kind])
        reason = None
        if result is Result.failed:
            reason = self.pick(self.failures[kind])
        elif result is Result.referred:
            reason = Reason.needs_police if code.startswith("vneid") else Reason.other
        elif result is Result.partial and rng.random() < 0.4:
            reason = rng.choice(PARTIAL_REASONS)
        if code == "vneid_level2" and result is Result.referred:
            device = None  # the police do level 2 at the commune office
        elif smartphones == 0:
            device = Device.family if rng.random() < 0.4 else Device.volunteer
        else:
            device = self.pick(self.devices)
        dossier_no = None
        if (
            code == "online_procedure"
            and result in (Result.done, Result.partial)
            and rng.random() < 0.7
        ):
            dossier_no = f"{self.dossier_prefix}-{day:%y%m%d}-{rng.randint(1, 9999):04d}"
        return AssistanceIn(
            resident_id=resident_id,
            service_code=code,
            result=result,
            reason=reason,
            device=device,
            dossier_no=dossier_no,
        )

    def visit(
        self,
        household_id: int,
        volunteer: int,
        at: datetime,
        outcome: Outcome,
        lines: list[AssistanceIn],
        follow_up: date | None,
        smartphones: int,
        internet: bool,
    ) -> dict:
        rng = self.rng
        notes = ""
        if rng.random() < (0.25 if outcome is Outcome.met else 0.6):
            notes = rng.choice(NOTES[outcome])
        met = outcome is Outcome.met
        visit_in = VisitIn(
            uuid=self.uuid(),
            household_id=household_id,
            visited_at=at,
            outcome=outcome,
            notes=notes,
            follow_up_on=follow_up,
            smartphones=smartphones if met else None,
            internet_at_home=internet if met else None,
            lines=tuple(lines),
        )
        # Phones queue visits while offline: most arrive within minutes, some that evening.
        delay = self.pick(((5, 300, 2000), (60, 90, 100)))
        received = min(at + timedelta(minutes=rng.randint(1, delay)), self.now)
        review = self.pick(self.review_recent if self.now - at < RECENT else self.review_old)
        row = dict(
            uuid=visit_in.uuid,
            household_id=household_id,
            volunteer_id=volunteer,
            visited_at=at,
            received_at=received,
            outcome=outcome,
            notes=notes,
            follow_up_on=follow_up,
            smartphones=visit_in.smartphones,
            internet_at_home=visit_in.internet_at_home,
            review_state=review,
            revision=1,
            # The digest log_visit() keeps, so a replay of this content is a duplicate.
            fingerprint=visit_in.fingerprint(),
        )
        visit_id = self.rows.add(Visit, row)
        for line in lines:
            self.rows.add(
                Assistance,
                dict(
                    visit_id=visit_id,
                    resident_id=line.resident_id,
                    service_code=line.service_code,
                    result=line.result,
                    reason=line.reason,
                    device=line.device,
                    dossier_no=line.dossier_no,
                ),
            )
        return row


def build(session: Session, *, commune_code: str, households: int, seed: int, now: datetime) -> str:
    """Build the demo commune and return a one-line Vietnamese summary of it.

    Sets up the commune `commune_code` (`communes.init_commune`, with the service catalogue),
    then adds max(8, ⌈households/500⌉) villages holding exactly `households` households with
    their residents (about 4.1 each), one leader per village, about one volunteer per 41
    households (most households assigned to one), two commune staff and an admin, and the
    visits of the VISIT_DAYS days before `now` with their assistance lines and review states.
    No visit is later than `now`. The households' cached summary columns equal what
    `households.refresh_summary()` computes.

    Deterministic: the same seed, households and `now` give the same data. Meant for a
    database without households; does not commit (the caller does). `now` is aware UTC.
    """
    if households < 1:
        raise Invalid({"households": "Cần ít nhất 1 hộ."})
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    commune, created = communes.init_commune(session, commune_code)
    setup = now - timedelta(days=VISIT_DAYS + 40)  # the team was formed, the lists entered
    if created:
        commune.created_at = setup - timedelta(days=10)
        session.add(commune)
    session.flush()

    rng = random.Random(seed)
    rows = _Rows(session.connection())
    builder = _Builder(rng, rows, commune, now)
    village_ids = _populate(builder, households, setup)
    rows.advance_sequences()
    # Each household's share of every indicator, counted in bulk a village at a time.
    indicators.rebuild_progress(session, village_ids=village_ids)
    # Bulk writes leave the query planner's statistics stale; without them SQLite may skip
    # the indexes the household list relies on.
    session.execute(text("ANALYZE"))

    written = rows.written
    team = written["member"] - 1 - len(STAFF)
    return (
        f"Xã mẫu: {commune.name}, {commune.province_name} — "
        f"{thousands(written['village'])} thôn, {thousands(written['household'])} hộ, "
        f"{thousands(written['resident'])} nhân khẩu, {thousands(team)} thành viên, "
        f"{thousands(written['visit'])} lượt thăm."
    )


def _populate(builder: _Builder, households: int, setup: datetime) -> list[int]:
    """The villages, team and households (with residents, visits and lines) of the builder's
    commune, written; returns the village ids. Draws from `builder.rng` in a fixed order."""
    rng, rows, commune = builder.rng, builder.rows, builder.commune
    # Every village gets at least one household, so a tiny demo has fewer than 8.
    village_count = min(max(8, math.ceil(households / HOUSEHOLDS_PER_VILLAGE)), households)
    sizes = _spread(households, [rng.uniform(0.75, 1.25) for _ in range(village_count)], 1)
    volunteer_total = max(village_count, round(households / HOUSEHOLDS_PER_VOLUNTEER))
    crews = _spread(volunteer_total, sizes, 1)
    village_ids = [
        rows.add(Village, dict(commune_id=commune.id, name=name, kind="thôn"))
        for name in builder.village_names(village_count)
    ]

    builder.member(
        role=Role.admin, village_id=None, name=ADMIN, phone=builder.phone(), created_at=setup
    )
    for name, _ in STAFF:
        builder.member(
            role=Role.staff, village_id=None, name=name, phone=builder.phone(), created_at=setup
        )
    teams = []
    for village_id, crew in zip(village_ids, crews, strict=True):
        # Leaders are the party-cell secretaries (born 1960s–70s); members are Youth Union.
        sex = Sex.male if rng.random() < 0.8 else Sex.female
        leader = builder.member(
            role=Role.leader,
            village_id=village_id,
            name=builder.name(sex, rng.randint(1962, 1978)),
            phone=builder.phone(),
            created_at=setup,
        )
        volunteers = [
            builder.member(
                role=Role.volunteer,
                village_id=village_id,
                name=builder.name(rng.choice((Sex.male, Sex.female)), rng.randint(1990, 2006)),
                phone=builder.phone(),
                created_at=setup + timedelta(days=rng.randint(0, 30)),
            )
            for _ in range(crew)
        ]
        teams.append((leader, volunteers))
    rows.write()

    for village_id, size, (leader, volunteers) in zip(village_ids, sizes, teams, strict=True):
        builder.village(village_id, size, volunteers, leader, setup + timedelta(days=5))
    rows.write()
    return village_ids


# --- the demo province (issue 14) ------------------------------------------------------------

PROVINCE_ADMIN = "Lê Thị Hồng Nhung"  # Sở Khoa học và Công nghệ, digital transformation
PROVINCE_STAFF = "Hoàng Minh Đức"  # Trung tâm Phục vụ hành chính công tỉnh


def province_communes(province_code: str, count: int, first: str | None = None) -> list[str]:
    """The official codes of `count` communes of the province: `first` (the demo commune)
    when it is one of them, then the others in code order."""
    codes = [commune.code for commune in admin_units.communes_of_province(province_code)]
    if first in codes:
        codes.remove(first)
        codes.insert(0, first)
    return codes[:count]


def build_province(
    session: Session,
    *,
    province_code: str,
    communes_count: int,
    households: int,
    seed: int,
    now: datetime,
    first_commune: str | None = None,
) -> Iterator[str]:
    """Build a demo province for measuring at scale: `communes_count` official communes of
    the province (`first_commune` first when it belongs there) sharing exactly `households`
    households (their sizes vary ±40 %), each commune drawn like the demo commune but with two
    years of visits (PROVINCE_HISTORY: about ten visits a household), then a province admin
    and a province staff member. On PostgreSQL the rows go in with COPY.

    A generator: it yields a line of progress after each commune is written, and the caller
    may commit there (so a build of a million households is not one transaction); it does not
    commit itself. Deterministic: the same arguments on an empty database give the same rows,
    ids included (each commune draws from its own Random seeded by `seed` and its code).
    Meant for a database without households."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    codes = province_communes(province_code, communes_count, first_commune)
    if not codes:
        raise Invalid({"communes": "Cần ít nhất 1 xã."})
    if households < len(codes):
        raise Invalid({"households": "Cần ít nhất một hộ mỗi xã."})
    setup = now - timedelta(days=PROVINCE_HISTORY.days + 40)
    shares = random.Random(f"{seed}-province-{province_code}")
    sizes = _spread(households, [shares.uniform(0.6, 1.4) for _ in codes], 1)
    phones = {phone for phone in session.exec(select(Member.phone)).all() if phone is not None}
    totals = {"village": 0, "household": 0, "resident": 0, "visit": 0, "assistance": 0}
    for number, (code, size) in enumerate(zip(codes, sizes, strict=True), start=1):
        commune, created = communes.init_commune(session, code)
        if created:
            commune.created_at = setup - timedelta(days=10)
            session.add(commune)
        session.flush()
        rows = _Rows(session.connection(), copy=True)
        builder = _Builder(
            random.Random(f"{seed}-{code}"),
            rows,
            commune,
            now,
            history=PROVINCE_HISTORY,
            phones=phones,
        )
        village_ids = _populate(builder, size, setup)
        if number & (number - 1) == 0:
            # Fresh planner statistics while the tables grow (after communes 1, 2, 4, 8…):
            # without them PostgreSQL counts a commune's progress with plans meant for empty
            # tables, ten times slower, and slower with every commune.
            for table in ("household", "resident", "visit", "assistance", "householdprogress"):
                session.execute(text(f"ANALYZE {table}"))
        _write_progress(session, rows, village_ids)
        rows.advance_sequences()
        for name in totals:
            totals[name] += rows.written[name]
        yield (
            f"[{number}/{len(codes)}] {commune.name}: {thousands(rows.written['household'])} "
            f"hộ, {thousands(rows.written['visit'])} lượt thăm."
        )
    province = admin_units.lookup_province(province_code)
    for name, role in ((PROVINCE_ADMIN, Role.province_admin), (PROVINCE_STAFF, Role.province)):
        session.add(
            Member(
                province_code=province.code,
                name=name,
                role=role,
                phone=_fresh_phone(shares, phones),
                created_at=setup,
            )
        )
    session.flush()
    add_province_targets(session, province_code=province.code, now=now)
    true_statistics(session)
    session.execute(text("ANALYZE"))
    yield (
        f"Tỉnh mẫu: {province.name} — {len(codes)} xã, {thousands(totals['village'])} thôn, "
        f"{thousands(totals['household'])} hộ, {thousands(totals['resident'])} nhân khẩu, "
        f"{thousands(totals['visit'])} lượt thăm, "
        f"{thousands(totals['assistance'])} dịch vụ hỗ trợ."
    )


def add_province_targets(session: Session, *, province_code: str, now: datetime) -> int:
    """This year's targets of the demo province, set by its admin through the same rule as the
    targets page: 95 % of each commune's households reached and 80 % of them with someone at
    VNeID level 1, and the sums for the whole province. Returns how many were set. Caller
    commits."""
    from fieldkit.reporting import targets

    admin = session.exec(
        select(Member).where(
            Member.province_code == province_code, Member.role == Role.province_admin
        )
    ).first()
    if admin is None:
        return 0
    households = dict(
        session.exec(
            select(Village.commune_id, func.count())
            .join(Household, col(Household.village_id) == Village.id)
            .join(Commune, col(Commune.id) == Village.commune_id)
            .where(Commune.province_code == province_code)
            .group_by(col(Village.commune_id))
        ).all()
    )
    cells = {}
    for key, share in (("reached", 0.95), ("vneid_level1", 0.8)):
        for commune_id, count in households.items():
            cells[targets.province_cell_name(commune_id, key)] = round(count * share)
        cells[targets.province_cell_name(None, key)] = round(sum(households.values()) * share)
    start, end = targets.preset_period("year", local_today(now))
    return targets.save_province_grid(
        session, member=admin, period_start=start, period_end=end, values=cells, now=now
    )


# Columns whose share of distinct values PostgreSQL misjudges after the demo's bulk writes.
_CLUSTERED = (
    ("visit", "household_id"),
    ("resident", "household_id"),
    ("assistance", "resident_id"),
)


def true_statistics(session: Session) -> None:
    """Tell PostgreSQL the true share of distinct values of the columns the demo writes
    clustered. The demo writes each household's visits (residents, lines) side by side, so
    ANALYZE's sample of pages meets each household many times and guesses about ten times too
    few distinct households — and then plans the village dashboard with parallel scans of
    every household of the province (1.8 s instead of 0.2 s, measured). Visits that arrive
    over months in a real deployment are interleaved and need no such help. Nothing on
    SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table, column in _CLUSTERED:
        share = session.execute(
            text(f"SELECT count(DISTINCT {column})::float / greatest(count(*), 1) FROM {table}")
        ).scalar()
        if share:
            session.execute(
                text(f"ALTER TABLE {table} ALTER COLUMN {column} SET (n_distinct = {-share:.4f})")
            )


def _fresh_phone(rng: random.Random, phones: set[str]) -> str:
    while True:
        number = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        if number not in phones:
            phones.add(number)
            return number


def _write_progress(session: Session, rows: _Rows, village_ids: list[int]) -> None:
    """HouseholdProgress and VillageProgress of these (new) villages, counted from their rows
    by fieldkit.reporting.indicators' own rules in one pass for the commune, and written in bulk."""
    counted = indicators.progress_rows(session, col(Household.village_id).in_(village_ids))
    totals: dict[tuple[int, str], list[int]] = {}
    for row in counted:
        total = totals.setdefault((row["village_id"], row["indicator"]), [0, 0])
        total[0] += row["approved"]
        total[1] += row["pending"]
    rows.bulk(HouseholdProgress.__table__, counted)  # type: ignore[attr-defined]  # as in _Rows
    rows.bulk(
        VillageProgress.__table__,  # type: ignore[attr-defined]  # as in _Rows
        [
            {"village_id": v, "indicator": i, "approved": a, "pending": p}
            for (v, i), (a, p) in sorted(totals.items())
        ],
    )


def province_people(session: Session) -> list[Member]:
    """The demo province's admin and staff member (the lowest ids of each role)."""
    found = []
    for role in (Role.province_admin, Role.province):
        person = session.exec(
            select(Member).where(Member.role == role, Member.active).order_by(col(Member.id))
        ).first()
        if person is not None:
            found.append(person)
    return found


def demo_people(session: Session) -> list[Member]:
    """The three people whose sign-in links `make run` prints, in this order: a volunteer with
    households assigned, in the first village (lowest id) that has one; that village's leader;
    a commune staff member of the same commune. The lowest ids each time, so the same demo
    gives the same people. Raises NotFound when the database holds no such trio."""
    has_households = exists().where(col(Household.assigned_volunteer_id) == Member.id)
    volunteer = session.exec(
        select(Member)
        .where(Member.role == Role.volunteer, Member.active, has_households)
        .order_by(col(Member.village_id), col(Member.id))
    ).first()
    leader = staff = None
    if volunteer is not None:
        leader = session.exec(
            select(Member)
            .where(
                Member.role == Role.leader, Member.active, Member.village_id == volunteer.village_id
            )
            .order_by(col(Member.id))
        ).first()
        staff = session.exec(
            select(Member)
            .where(
                Member.role == Role.staff, Member.active, Member.commune_id == volunteer.commune_id
            )
            .order_by(col(Member.id))
        ).first()
    if volunteer is None or leader is None or staff is None:
        raise NotFound("Chưa có xã mẫu: chạy `fieldkit demo` trước.")
    return [volunteer, leader, staff]
