"""Generate the demo company as import files, one CSV per kind.

Input: an output folder, a seed and a scale (1.0 = the full company). Output:
`{kind: path}` of CSV files in the exact import formats (`openspm kinds`), in the
order they must be imported, and the plan documents under `plans/`.

The company at full scale: a VP of Sales over three regional directors (NA, EMEA,
APAC), 15 first-line managers, 110 AEs and 20 SDRs; 5,000 accounts in 113
territories; 20 products in 4 families; 100,000 order lines over 2025-2026 with
returns, cancellations and splits; 3,000 opportunities; three plans with their
assignments and quotas; sign-in users for every role. `scale` shrinks the
accounts, order lines, opportunities and the moves and splits among them; the
organisation stays the same.

The same seed and scale give byte-identical files: every draw comes from one
`random.Random(seed)` (each stage gets its own stream drawn from it, in a fixed
order), nothing iterates a set, and money is Decimal built from integers.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path

from openspm.core.errors import InvalidInput
from openspm.core.period import add_months
from openspm.ingest.kinds import KINDS

HISTORY_START = date(2024, 1, 1)  # org, territories and reporting lines are known from here
DEMO_START = date(2025, 1, 1)  # first day of transactions and plans
DEMO_END = date(2027, 1, 1)  # day after the last transaction
REALIGNMENT = date(2025, 7, 1)  # mid-year territory realignment and manager changes
AS_OF = date(2026, 12, 31)  # "today" for the pipeline: later close dates are still open
DEMO_YEARS = (2025, 2026, 2027)  # fiscal years of the calendar (opportunities close into 2027)

PLANS_DIR = "plans"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
ZERO = Decimal(0)

# --- fixed tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    name: str
    country: str  # ISO 3166 alpha-2
    lat: str
    lon: str


@dataclass(frozen=True)
class Region:
    code: str
    label: str
    currency: str
    teams: tuple[str, ...]  # the segment of each AE team (ENT, MM, SMB)
    aes: int
    sdrs: int
    account_share: int  # percent of accounts
    offices: tuple[str, ...]  # cities the sales staff sit in
    cities: tuple[City, ...]


REGIONS = (
    Region(
        "NA",
        "North America",
        "USD",
        ("ENT", "MM", "MM", "SMB", "SMB"),
        48,
        8,
        45,
        ("New York", "San Francisco", "Chicago", "Austin", "Toronto"),
        (
            City("New York", "US", "40.7128", "-74.0060"),
            City("San Francisco", "US", "37.7749", "-122.4194"),
            City("Chicago", "US", "41.8781", "-87.6298"),
            City("Austin", "US", "30.2672", "-97.7431"),
            City("Boston", "US", "42.3601", "-71.0589"),
            City("Seattle", "US", "47.6062", "-122.3321"),
            City("Atlanta", "US", "33.7490", "-84.3880"),
            City("Denver", "US", "39.7392", "-104.9903"),
            City("Dallas", "US", "32.7767", "-96.7970"),
            City("Toronto", "CA", "43.6532", "-79.3832"),
            City("Vancouver", "CA", "49.2827", "-123.1207"),
            City("Montreal", "CA", "45.5017", "-73.5673"),
        ),
    ),
    Region(
        "EMEA",
        "Europe, Middle East and Africa",
        "EUR",
        ("ENT", "MM", "SMB", "SMB"),
        36,
        7,
        33,
        ("London", "Munich", "Paris", "Amsterdam", "Madrid"),
        (
            City("London", "GB", "51.5074", "-0.1278"),
            City("Manchester", "GB", "53.4808", "-2.2426"),
            City("Berlin", "DE", "52.5200", "13.4050"),
            City("Munich", "DE", "48.1351", "11.5820"),
            City("Frankfurt", "DE", "50.1109", "8.6821"),
            City("Paris", "FR", "48.8566", "2.3522"),
            City("Lyon", "FR", "45.7640", "4.8357"),
            City("Amsterdam", "NL", "52.3676", "4.9041"),
            City("Madrid", "ES", "40.4168", "-3.7038"),
            City("Milan", "IT", "45.4642", "9.1900"),
            City("Stockholm", "SE", "59.3293", "18.0686"),
            City("Dublin", "IE", "53.3498", "-6.2603"),
        ),
    ),
    Region(
        "APAC",
        "Asia Pacific",
        "USD",
        ("ENT", "MM", "SMB"),
        26,
        5,
        22,
        ("Singapore", "Sydney", "Tokyo", "Bangalore"),
        (
            City("Tokyo", "JP", "35.6762", "139.6503"),
            City("Osaka", "JP", "34.6937", "135.5023"),
            City("Sydney", "AU", "-33.8688", "151.2093"),
            City("Melbourne", "AU", "-37.8136", "144.9631"),
            City("Singapore", "SG", "1.3521", "103.8198"),
            City("Bangalore", "IN", "12.9716", "77.5946"),
            City("Mumbai", "IN", "19.0760", "72.8777"),
            City("Seoul", "KR", "37.5665", "126.9780"),
            City("Hong Kong", "HK", "22.3193", "114.1694"),
        ),
    ),
)
SEGMENT_LABEL = {"ENT": "Enterprise", "MM": "Mid-Market", "SMB": "Commercial"}
LEGAL_FORM = {
    "US": "Inc.",
    "CA": "Corp.",
    "GB": "Ltd",
    "DE": "GmbH",
    "FR": "SAS",
    "NL": "B.V.",
    "ES": "S.L.",
    "IT": "S.p.A.",
    "SE": "AB",
    "IE": "Ltd",
    "JP": "K.K.",
    "AU": "Pty Ltd",
    "SG": "Pte Ltd",
    "IN": "Pvt Ltd",
    "KR": "Co., Ltd.",
    "HK": "Ltd",
}

FIRST_NAMES = {
    "NA": (
        "James Mary Robert Patricia Michael Jennifer David Linda William Elizabeth Daniel Sarah Matthew Jessica "
        "Anthony Karen Mark Nancy Andrew Lisa Joshua Emily Kevin Ashley Brian Megan Jason Rachel Ryan Lauren "
        "Tyler Hannah Marcus Olivia Carlos Sofia Derek Chloe Nathan Grace"
    ),
    "EMEA": (
        "Oliver Amelia Harry Isla Lukas Lena Jonas Mia Léa Hugo Chloé Louis Inès Lucas Zoë Daan Sanne Sem "
        "Julia Pablo Lucía Mateo Carmen Giulia Marco Francesca Björn Astrid Søren Freya Niamh Liam Aoife "
        "François Margaux Klaus Anja Timo Elin Matteo"
    ),
    "APAC": (
        "Haruto Yui Sota Aoi Ren Hina Arjun Priya Rohan Ananya Vikram Kavya Wei Mei Jun Li Min-jun Seo-yeon "
        "Ji-ho Ha-eun Jack Charlotte Noah Ruby Lachlan Matilda Ethan Zara Ravi Divya Kenji Sakura Tao Ling "
        "Aarav Ishaan Hiroshi Emi Daniel Grace"
    ),
}
LAST_NAMES = {
    "NA": (
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
        "Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Walker Young Allen "
        "King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter O'Brien Tremblay"
    ),
    "EMEA": (
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois Martin Bernard Lefèvre Moreau "
        "Laurent García Fernández López Martínez Rossi Russo Bianchi Romano de_Vries Jansen Bakker Visser "
        "Andersson Johansson Lindqvist Nielsen Murphy Kelly Walsh Byrne Taylor Evans Hughes Wright Clarke"
    ),
    "APAC": (
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Sharma Patel Gupta Iyer Reddy Nair Rao "
        "Chen Wang Li Zhang Liu Wong Tan Lim Ng Kim Park Choi Jung Kang Cho Smith Nguyen Walker Mitchell "
        "Campbell Kelly Murray Singh Kapoor"
    ),
}  # split on spaces; "_" stands for a space inside a name

INDUSTRIES = (
    # name, revenue per employee (thousands), name endings
    ("Software", 250, ("Software", "Systems", "Labs", "Technologies", "Digital")),
    ("Manufacturing", 300, ("Industries", "Manufacturing", "Components", "Machinery", "Works")),
    ("Healthcare", 180, ("Health", "Medical", "Care", "Clinics", "Biotech")),
    ("Financial Services", 400, ("Capital", "Financial", "Bank", "Insurance", "Partners")),
    ("Retail", 220, ("Retail", "Stores", "Brands", "Outfitters", "Market")),
    ("Logistics", 200, ("Logistics", "Freight", "Transport", "Shipping", "Supply")),
    ("Energy", 600, ("Energy", "Power", "Renewables", "Utilities", "Resources")),
    ("Telecommunications", 450, ("Telecom", "Networks", "Communications", "Mobile", "Connect")),
    ("Education", 90, ("Learning", "Academy", "Education", "University Services", "Schools")),
    ("Government", 120, ("Public Services", "Agency", "Authority", "Council", "Services")),
    ("Media", 210, ("Media", "Studios", "Publishing", "Entertainment", "Broadcasting")),
    ("Professional Services", 160, ("Consulting", "Advisory", "Group", "Associates", "Solutions")),
)
PUBLIC_SECTOR = ("Government", "Education")
# Invented company names: a brand (head + tail) and an industry word.
BRAND_HEADS = (
    "Kel Nor Vel Ast Bri Cor Dal Eli Fen Gal Hal Ith Jor Kai Lum Mar Nex Ori Pax Quin Ros Sol Tar Ul Ven Wyn Xan Yor"
)
BRAND_TAILS = "ora ix ent ara is on ex ia um ar en ite ova ica eon ada ium yx os una ero ant ilo ity"

SIZES = (("SMB", 60), ("MM", 30), ("ENT", 10))  # size band, percent of accounts
ORDER_WEIGHT = {"SMB": 3, "MM": 3, "ENT": 5}  # how often an account of the band orders
LINES_PER_ORDER = {"SMB": (1, 1, 1, 2, 2, 3), "MM": (1, 2, 2, 3, 3, 4), "ENT": (1, 2, 3, 3, 4, 5)}
MAX_DISCOUNT = {"SMB": 15, "MM": 25, "ENT": 30}  # percent


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    family: str
    unit: str
    price_usd: int
    quantities: tuple[tuple[int, int] | None, tuple[int, int] | None, tuple[int, int] | None]  # SMB, MM, ENT
    weight: int

    def price(self, currency: str) -> int:
        """Whole-unit list price in a price book: EUR and GBP books are set from USD."""
        percent = {"USD": 100, "EUR": 92, "GBP": 79}[currency]
        return (self.price_usd * percent + 50) // 100

    def range_for(self, size: str) -> tuple[int, int] | None:
        return self.quantities[("SMB", "MM", "ENT").index(size)]


PRODUCTS = (
    Product("PLT-STD", "Platform Standard", "Platform", "seat", 240, ((2, 12), (5, 30), (10, 80)), 30),
    Product("PLT-PRO", "Platform Professional", "Platform", "seat", 480, ((2, 8), (4, 20), (8, 60)), 22),
    Product("PLT-ENT", "Platform Enterprise", "Platform", "seat", 960, (None, (3, 12), (5, 40)), 12),
    Product("PLT-API", "API Access Add-on", "Platform", "license", 1200, ((1, 1), (1, 2), (1, 3)), 8),
    Product("PLT-SSO", "SSO and Security Add-on", "Platform", "seat", 36, ((5, 25), (10, 60), (25, 200)), 8),
    Product("PLT-SBX", "Sandbox Environment", "Platform", "environment", 3000, (None, (1, 1), (1, 2)), 4),
    Product("ANL-DSH", "Dashboards", "Analytics", "seat", 120, ((2, 12), (5, 30), (10, 80)), 14),
    Product("ANL-ADV", "Advanced Analytics", "Analytics", "seat", 420, ((1, 5), (2, 12), (5, 40)), 8),
    Product("ANL-FCS", "Forecasting Suite", "Analytics", "seat", 600, (None, (2, 10), (5, 30)), 5),
    Product("ANL-CON", "Data Warehouse Connector", "Analytics", "connector", 6000, (None, (1, 1), (1, 2)), 3),
    Product("ANL-AIX", "AI Insights", "Analytics", "seat", 720, ((1, 4), (2, 10), (5, 25)), 5),
    Product("SRV-QST", "QuickStart Implementation", "Services", "package", 4500, ((1, 1), (1, 1), None), 3),
    Product("SRV-IMP", "Enterprise Implementation", "Services", "package", 45000, (None, None, (1, 1)), 1),
    Product("SRV-DAY", "Consulting Day", "Services", "day", 1600, ((1, 2), (1, 5), (2, 10)), 6),
    Product("SRV-TRN", "Training Workshop", "Services", "workshop", 3200, ((1, 1), (1, 1), (1, 2)), 4),
    Product("SRV-MIG", "Data Migration", "Services", "package", 9500, (None, (1, 1), (1, 1)), 2),
    Product("SUP-PRM", "Premium Support", "Support", "year", 4800, ((1, 1), (1, 1), None), 3),
    Product("SUP-ENT", "Enterprise Support", "Support", "year", 24000, (None, (1, 1), (1, 1)), 1),
    Product("SUP-TAM", "Technical Account Manager", "Support", "year", 60000, (None, None, (1, 1)), 1),
    Product("SUP-247", "24x7 Coverage", "Support", "year", 12000, (None, (1, 1), (1, 1)), 1),
)


# Annual target incentive in USD by role and seniority; EUR and GBP use the price-book ratios.
TARGET_INCENTIVE = {
    ("VP", "Executive"): 150_000,
    ("Director", "Director"): 90_000,
    ("Manager", "Senior Manager"): 65_000,
    ("Manager", "Manager"): 55_000,
    ("AE", "Principal"): 95_000,
    ("AE", "Senior"): 75_000,
    ("AE", "Mid"): 55_000,
    ("AE", "Associate"): 40_000,
    ("SDR", "Senior"): 24_000,
    ("SDR", "Associate"): 18_000,
}
AE_SENIORITY = {"ENT": ("Senior", "Principal"), "MM": ("Mid", "Senior"), "SMB": ("Associate", "Mid")}
OVERRIDE_RATE = {"Manager": "0.010", "Director": "0.004", "VP": "0.0015"}

PLANS = (
    # id, name, document, description
    (
        "ae-commission",
        "AE Commission Plan",
        "ae_commission.yaml",
        "Tiered commission on net bookings against quarterly quota, with accelerators",
    ),
    (
        "manager-override",
        "Sales Leadership Override Plan",
        "manager_override.yaml",
        "Override on the team's bookings plus a quarterly team attainment bonus",
    ),
    (
        "sdr-meetings",
        "SDR Meetings Plan",
        "sdr_meetings.yaml",
        "Monthly bonus on qualified meetings against quota, with a per-meeting SPIF",
    ),
)
PLAN_OF_ROLE = {
    "AE": "ae-commission",
    "Manager": "manager-override",
    "Director": "manager-override",
    "VP": "manager-override",
    "SDR": "sdr-meetings",
}
STAGES = (
    # stage, probability, weight among open opportunities
    ("Prospecting", "0.10", 30),
    ("Qualification", "0.20", 28),
    ("Proposal", "0.50", 24),
    ("Negotiation", "0.75", 18),
)
LEAD_SOURCES = ("Inbound", "Partner", "AE", "Event")

# --- model of the company --------------------------------------------------------------


@dataclass
class Person:
    id: str
    first: str
    last: str
    role: str
    region: str
    office: City
    hire: date
    seniority: str
    cost_center: str
    segment: str = ""
    term: date | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def email(self) -> str:
        return f"{_ascii(self.first)}.{_ascii(self.last)}@demo.openspm.io"

    @property
    def pay_currency(self) -> str:
        if self.region != "EMEA":
            return "USD"
        return "GBP" if self.office.country == "GB" else "EUR"

    def active(self, day: date) -> bool:
        return self.hire <= day and (self.term is None or day < self.term)


@dataclass(frozen=True)
class Span:
    """An effective-dated link `subject → target` over `[start, end)`."""

    subject: str
    target: str
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


class Timeline:
    """Effective-dated links by subject: which target holds on a given day."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.by_subject: dict[str, list[Span]] = {}
        for span in spans:
            self.by_subject.setdefault(span.subject, []).append(span)

    def at(self, subject: str, day: date) -> str | None:
        return next((s.target for s in self.by_subject.get(subject, ()) if s.covers(day)), None)


@dataclass
class Team:
    manager: Person
    region: str
    segment: str  # ENT, MM, SMB or SDR
    label: str


@dataclass
class Org:
    people: list[Person]
    teams: list[Team]
    lines: list[Span]  # payee → manager
    moved: list[str]  # AEs whose manager changed at the realignment

    def by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.people}

    def with_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    industry: str
    size: str
    region: str
    city: City
    employees: int
    annual_revenue: int
    latitude: Decimal
    longitude: Decimal
    potential: int

    @property
    def currency(self) -> str:
        if self.region == "EMEA":
            return "GBP" if self.city.country == "GB" else "EUR"
        return "USD"

    @property
    def segment(self) -> str:
        if self.industry in PUBLIC_SECTOR:
            return "Public Sector"
        return SEGMENT_LABEL[self.size]


@dataclass(frozen=True)
class Territory:
    id: str
    name: str
    region: str
    segment: str  # "" for a region territory
    parent: str = ""


@dataclass
class Coverage:
    territories: list[Territory]
    account_territories: list[Span]  # account → territory
    owners: list[Span]  # territory → AE
    sdr_accounts: list[Span]  # account → SDR


@dataclass
class Line:
    """One transaction line; money is `quantity × unit_price × (100 − discount) / 100`."""

    day: date
    account: Account
    product: Product
    quantity: int
    discount: int  # percent
    type: str = "sale"
    id: str = ""
    order_id: str = ""
    opportunity: str = ""
    owner: str = ""
    original: Line | None = None
    channel: str = "Direct"

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def unit_price(self) -> int:
        return self.product.price(self.currency)

    @property
    def list_amount(self) -> Decimal:
        return Decimal(self.quantity * self.unit_price)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.quantity * self.unit_price * (100 - self.discount)).scaleb(-2)


@dataclass
class Opportunity:
    id: str
    name: str
    account: Account
    owner: str
    stage: str
    probability: str
    amount: Decimal
    close: date
    created: date
    status: str
    kind: str
    lead_source: str
    sdr: str
    stage_reached: str = ""  # closed deals: the last open stage before closing (as a CRM's stage history says)
    activities: int = 0  # calls and meetings logged on the deal
    competitor: str = ""  # "yes" when a competitor is known to be in the deal


@dataclass
class Sales:
    lines: list[Line]  # sales, returns and cancellations, by date
    splits: list[tuple[Line, str, str, str]]  # line, payee, role, share
    opportunities: list[Opportunity]


@dataclass
class Company:
    org: Org
    accounts: list[Account]
    coverage: Coverage
    fx: dict[tuple[str, date], Decimal]  # (currency, first of month) → USD per unit
    sales: Sales
    quotas: list[tuple[str, str, str, Decimal, str]] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c == "-")


def _day_between(rng: random.Random, start: date, end: date) -> date:
    """A day in `[start, end)`."""
    return start + timedelta(days=rng.randrange((end - start).days))


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):f}"


def _round_to(value: Decimal, step: int) -> Decimal:
    return (value / step).quantize(Decimal(1), ROUND_HALF_UP) * step


def _text(value: date | None) -> str:
    return value.isoformat() if value else ""


def _month(day: date) -> date:
    return day.replace(day=1)


def _quarter_name(day: date) -> str:
    return f"FY{day.year}-Q{(day.month - 1) // 3 + 1}"


def _scaled(count: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(count * scale))


def _stream(rng: random.Random) -> random.Random:
    """A stage's own random stream, drawn from the seed stream in a fixed order."""
    return random.Random(rng.getrandbits(64))


# --- organisation ----------------------------------------------------------------------


class _Names:
    """Unique first/last name pairs (hence unique emails) drawn per region."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()  # membership only; never iterated
        self.first = {k: v.split() for k, v in FIRST_NAMES.items()}
        self.last = {k: [name.replace("_", " ") for name in v.split()] for k, v in LAST_NAMES.items()}

    def draw(self, region: str) -> tuple[str, str]:
        while True:
            first, last = self.rng.choice(self.first[region]), self.rng.choice(self.last[region])
            email = f"{_ascii(first)}.{_ascii(last)}"
            if email not in self.used:
                self.used.add(email)
                return first, last


def build_org(rng: random.Random) -> Org:
    """The sales organisation: VP → directors → managers → AEs and SDRs, with reporting lines."""
    names = _Names(rng)
    people: list[Person] = []
    teams: list[Team] = []
    lines: list[Span] = []

    def hire(
        role: str, region: Region, hired: tuple[date, date], seniority: str, cost_center: str, segment: str = ""
    ) -> Person:
        first, last = names.draw(region.code)
        office_name = rng.choice(region.offices)
        office = next(c for c in region.cities if c.name == office_name)
        day = _day_between(rng, *hired)
        person = Person(
            f"EMP-{len(people) + 1001}", first, last, role, region.code, office, day, seniority, cost_center
        )
        person.segment = segment
        people.append(person)
        return person

    vp = hire("VP", REGIONS[0], (date(2018, 1, 1), date(2020, 1, 1)), "Executive", "4000")
    vp.region = "Global"
    for r, region in enumerate(REGIONS, start=1):
        director = hire("Director", region, (date(2019, 1, 1), date(2022, 1, 1)), "Director", f"4{r}00")
        lines.append(Span(director.id, vp.id, max(HISTORY_START, director.hire)))
        segments = [*region.teams, "SDR"]
        for t, segment in enumerate(segments, start=1):
            label = f"{region.code} {SEGMENT_LABEL.get(segment, 'Sales Development')} {t}"
            seniority = rng.choice(("Manager", "Senior Manager"))
            manager = hire("Manager", region, (date(2017, 1, 1), date(2023, 6, 1)), seniority, f"4{r}{t:02d}", segment)
            lines.append(Span(manager.id, director.id, max(HISTORY_START, manager.hire)))
            teams.append(Team(manager, region.code, segment, label))
        region_teams = [t for t in teams if t.region == region.code]
        ae_teams = [t for t in region_teams if t.segment != "SDR"]
        for n in range(region.aes):
            team = ae_teams[n % len(ae_teams)]
            new_hire = n >= region.aes - 2  # the last two of each region join mid-2025
            hired = (date(2025, 4, 1), REALIGNMENT) if new_hire else (date(2016, 1, 1), date(2024, 12, 1))
            levels = AE_SENIORITY[team.segment]
            seniority = levels[0] if new_hire else rng.choice(levels)
            ae = hire("AE", region, hired, seniority, team.manager.cost_center, team.segment)
            lines.append(Span(ae.id, team.manager.id, max(HISTORY_START, ae.hire)))
        sdr_team = next(t for t in region_teams if t.segment == "SDR")
        for _ in range(region.sdrs):
            seniority = rng.choice(("Associate", "Associate", "Senior"))
            sdr = hire("SDR", region, (date(2021, 6, 1), date(2024, 12, 1)), seniority, sdr_team.manager.cost_center)
            lines.append(Span(sdr.id, sdr_team.manager.id, max(HISTORY_START, sdr.hire)))
    moved = _change_managers(rng, people, teams, lines)
    _terminate(rng, people, moved, lines)
    return Org(people, teams, lines, moved)


def _change_managers(rng: random.Random, people: list[Person], teams: list[Team], lines: list[Span]) -> list[str]:
    """Move five AEs to another team of their region at the realignment; returns their ids."""
    veterans = [p for p in people if p.role == "AE" and p.hire < DEMO_START]
    moved: list[str] = []
    for ae in rng.sample(veterans, 5):
        i = next(i for i, s in enumerate(lines) if s.subject == ae.id)
        old = lines[i]
        choices = [t for t in teams if t.region == ae.region and t.segment != "SDR" and t.manager.id != old.target]
        same = [t for t in choices if t.segment == ae.segment]
        team = rng.choice(same or choices)
        lines[i] = Span(old.subject, old.target, old.start, REALIGNMENT)
        lines.insert(i + 1, Span(ae.id, team.manager.id, REALIGNMENT))
        ae.cost_center = team.manager.cost_center
        moved.append(ae.id)
    return moved


def _terminate(rng: random.Random, people: list[Person], moved: list[str], lines: list[Span]) -> None:
    """Four AEs and one SDR leave during 2025-2026; their open reporting line ends that day."""
    aes = [p for p in people if p.role == "AE" and p.hire < DEMO_START and p.id not in moved]
    sdrs = [p for p in people if p.role == "SDR"]
    for person in [*rng.sample(aes, 4), rng.choice(sdrs)]:
        person.term = _day_between(rng, date(2025, 3, 1), date(2026, 11, 1))
        for i, span in enumerate(lines):
            if span.subject == person.id and span.end is None:
                lines[i] = Span(span.subject, span.target, span.start, person.term)


# --- accounts --------------------------------------------------------------------------


def build_accounts(rng: random.Random, count: int) -> list[Account]:
    """`count` accounts spread over the regions, sizes and industries."""
    names: set[str] = set()  # membership only; never iterated
    heads, tails = BRAND_HEADS.split(), BRAND_TAILS.split()
    accounts: list[Account] = []
    region_weights = [r.account_share for r in REGIONS]
    size_weights = [w for _, w in SIZES]
    for n in range(1, count + 1):
        region = rng.choices(REGIONS, weights=region_weights)[0]
        size = rng.choices([s for s, _ in SIZES], weights=size_weights)[0]
        industry, revenue_per_head, endings = rng.choice(INDUSTRIES)
        city = rng.choice(region.cities)
        while True:
            brand = rng.choice(heads) + rng.choice(tails)
            name = f"{brand} {rng.choice(endings)} {LEGAL_FORM[city.country]}"
            if name not in names:
                names.add(name)
                break
        employees = _employees(rng, size)
        revenue = employees * revenue_per_head * 1000 * rng.randint(80, 120) // 100
        per_head = {"SMB": 300, "MM": 120, "ENT": 20}[size]
        potential = employees * per_head * rng.randint(70, 130) // 100 // 1000 * 1000
        accounts.append(
            Account(
                f"ACC-{n:05d}",
                name,
                industry,
                size,
                region.code,
                city,
                employees,
                revenue,
                Decimal(city.lat) + Decimal(rng.randint(-1500, 1500)).scaleb(-4),
                Decimal(city.lon) + Decimal(rng.randint(-1500, 1500)).scaleb(-4),
                max(potential, 1000),
            )
        )
    return accounts


def _employees(rng: random.Random, size: str) -> int:
    low, high = {"SMB": (10, 199), "MM": (200, 1999), "ENT": (2000, 100_000)}[size]
    span = high - low
    return low + min(rng.randint(0, span), rng.randint(0, span), rng.randint(0, span))


# --- territories and coverage ----------------------------------------------------------


def build_coverage(rng: random.Random, org: Org, accounts: list[Account], scale: float) -> Coverage:
    """Region and AE territories, account → territory (with the mid-2025 moves), owners and SDR lists."""
    manager_of = Timeline(org.lines)
    territories = [Territory(f"T-{r.code}", r.label, r.code, "") for r in REGIONS]
    owners: list[Span] = []
    first_owner: dict[str, Person] = {}
    counters: dict[tuple[str, str], int] = {}
    for ae in org.with_role("AE"):
        key = (ae.region, ae.segment)
        counters[key] = counters.get(key, 0) + 1
        n = counters[key]
        label = f"{ae.region} {SEGMENT_LABEL[ae.segment]} {n:02d}"
        territory = Territory(f"T-{ae.region}-{ae.segment}-{n:02d}", label, ae.region, ae.segment, f"T-{ae.region}")
        territories.append(territory)
        first_owner[territory.id] = ae
        owners.append(Span(territory.id, ae.id, max(HISTORY_START, ae.hire), ae.term))
        if ae.term is not None:
            owners.append(Span(territory.id, _cover_for(rng, ae, org, manager_of).id, ae.term))
    account_territories = _assign_accounts(rng, accounts, territories, first_owner, scale)
    return Coverage(territories, account_territories, owners, _sdr_accounts(rng, org, accounts, scale))


def _cover_for(rng: random.Random, leaver: Person, org: Org, manager_of: Timeline) -> Person:
    """A teammate (same manager on the leaving day) who stays, to take over the territory."""
    assert leaver.term is not None
    manager = manager_of.at(leaver.id, leaver.term - timedelta(days=1))
    mates = [
        p
        for p in org.with_role("AE")
        if p.id != leaver.id and p.term is None and p.hire < leaver.term and manager_of.at(p.id, leaver.term) == manager
    ]
    return rng.choice(mates or [p for p in org.with_role("AE") if p.region == leaver.region and p.term is None])


def _assign_accounts(
    rng: random.Random,
    accounts: list[Account],
    territories: list[Territory],
    first_owner: dict[str, Person],
    scale: float,
) -> list[Span]:
    """Accounts in geographic runs to the territories of their region and size; moves on the realignment day.

    New hires' territories start empty and receive their share of accounts from the
    other territories of the band on the realignment day; a further ~100 accounts
    move between existing territories.
    """
    start: dict[str, str] = {}
    moves: dict[str, str] = {}
    for region in REGIONS:
        for size, _ in SIZES:
            band = [t for t in territories if t.region == region.code and t.segment == size]
            fresh = [t for t in band if first_owner[t.id].hire >= DEMO_START]
            settled = [t for t in band if t not in fresh] or band
            members = sorted(
                (a for a in accounts if a.region == region.code and a.size == size),
                key=lambda a: (a.city.country, a.city.name, a.longitude, a.id),
            )
            for i, account in enumerate(members):
                start[account.id] = settled[i * len(settled) // len(members)].id
            share = len(members) // len(band)
            pool = rng.sample(members, min(len(members), share * len(fresh)))
            for i, account in enumerate(pool):
                moves[account.id] = fresh[i // share].id
    stay = [a for a in accounts if a.id not in moves]
    for account in rng.sample(stay, min(len(stay), _scaled(100, scale))):
        band = [
            t
            for t in territories
            if t.region == account.region and t.segment == account.size and t.id != start[account.id]
        ]
        if band:
            moves[account.id] = rng.choice(band).id
    spans: list[Span] = []
    for account in accounts:
        target = moves.get(account.id)
        if target is None or target == start[account.id]:
            spans.append(Span(account.id, start[account.id], HISTORY_START))
        else:
            spans.append(Span(account.id, start[account.id], HISTORY_START, REALIGNMENT))
            spans.append(Span(account.id, target, REALIGNMENT))
    return spans


def _sdr_accounts(rng: random.Random, org: Org, accounts: list[Account], scale: float) -> list[Span]:
    """Each SDR prospects a named list of mid-market and enterprise accounts in their region."""
    spans: list[Span] = []
    per_sdr = _scaled(40, scale)
    for region in REGIONS:
        sdrs = [p for p in org.with_role("SDR") if p.region == region.code]
        targets = [a for a in accounts if a.region == region.code and a.size != "SMB"]
        picked = rng.sample(targets, min(len(targets), per_sdr * len(sdrs)))
        stayers = [p for p in sdrs if p.term is None]
        for i, account in enumerate(picked):
            sdr = sdrs[i % len(sdrs)]
            spans.append(Span(account.id, sdr.id, max(DEMO_START, sdr.hire), sdr.term))
            if sdr.term is not None:
                spans.append(Span(account.id, stayers[i % len(stayers)].id, sdr.term))
    return spans


# --- money: fx -------------------------------------------------------------------------


def build_fx(rng: random.Random) -> dict[tuple[str, date], Decimal]:
    """Monthly EUR→USD and GBP→USD rates for 2025-2027, a bounded random walk in 0.0001 steps."""
    rates: dict[tuple[str, date], Decimal] = {}
    level = {"EUR": 10850, "GBP": 12700}
    bounds = {"EUR": (10300, 11600), "GBP": (12100, 13500)}
    month = DEMO_START
    while month < date(DEMO_YEARS[-1] + 1, 1, 1):
        for currency in ("EUR", "GBP"):
            low, high = bounds[currency]
            level[currency] = min(high, max(low, level[currency] + rng.randint(-150, 150)))
            rates[(currency, month)] = Decimal(level[currency]).scaleb(-4)
        month = add_months(month, 1)
    return rates


def to_usd(fx: dict[tuple[str, date], Decimal], amount: Decimal, currency: str, day: date) -> Decimal:
    return amount if currency == "USD" else amount * fx[(currency, _month(day))]


# --- sales: orders, opportunities, returns, splits -------------------------------------


class _Ownership:
    """Who owns an account on a day: its territory's owner."""

    def __init__(self, coverage: Coverage) -> None:
        self.territory = Timeline(coverage.account_territories)
        self.owner = Timeline(coverage.owners)
        self.sdr = Timeline(coverage.sdr_accounts)

    def ae(self, account: Account, day: date) -> str | None:
        territory = self.territory.at(account.id, day)
        return self.owner.at(territory, day) if territory else None


def _order(rng: random.Random, account: Account, day: date) -> list[Line]:
    """The lines of one order: distinct products sold to the account's size band, one deal discount."""
    sellable = [p for p in PRODUCTS if p.range_for(account.size) is not None]
    count = rng.choice(LINES_PER_ORDER[account.size])
    discount = 0 if rng.randrange(100) < 35 else rng.randint(1, MAX_DISCOUNT[account.size])
    chosen: list[Product] = []
    while len(chosen) < count:
        product = rng.choices(sellable, weights=[p.weight for p in sellable])[0]
        if product not in chosen:
            chosen.append(product)
    lines = []
    for product in chosen:
        quantities = product.range_for(account.size)
        assert quantities is not None
        low, high = quantities
        quantity = min(rng.randint(low, high), rng.randint(low, high))
        lines.append(Line(day, account, product, quantity, discount))
    return lines


def _sale_days() -> tuple[list[date], list[float]]:
    """Every day of 2025-2026 with a cumulative weight: quarter-end peaks, quiet weekends, 2026 growth."""
    days: list[date] = []
    cumulative: list[float] = []
    total = 0.0
    day = DEMO_START
    while day < DEMO_END:
        month_in_quarter = (day.month - 1) % 3
        weight = (1.0, 1.2, 1.7)[month_in_quarter]
        if month_in_quarter == 2 and day.day >= 20:
            weight *= 1.8
        if day.weekday() >= 5:
            weight *= 0.15
        if day.year == 2026:
            weight *= 1.2
        total += weight
        days.append(day)
        cumulative.append(total)
        day += timedelta(days=1)
    return days, cumulative


def build_sales(rng: random.Random, org: Org, accounts: list[Account], coverage: Coverage, scale: float) -> Sales:
    """Opportunities (won ones become orders), run-rate orders, returns, cancellations, splits, owners."""
    own = _Ownership(coverage)
    total = _scaled(100_000, scale, minimum=50)
    n_returns, n_cancels = round(total * 0.015), round(total * 0.005)
    opportunities, won_orders = _opportunities(_stream(rng), accounts, own, _scaled(3000, scale, minimum=10))
    orders = won_orders + _run_rate_orders(_stream(rng), accounts, total - n_returns - n_cancels, won_orders)
    sales = _number_orders(orders)
    reversals = _reversals(_stream(rng), sales, n_returns, n_cancels)
    lines = sorted(sales + reversals, key=lambda line: (line.day, line.id))
    _explicit_owners(_stream(rng), org, sales, own, _scaled(150, scale))
    splits = _splits(_stream(rng), org, sales, own, _scaled(300, scale))
    return Sales(lines, splits, opportunities)


def _opportunities(
    rng: random.Random, accounts: list[Account], own: _Ownership, count: int
) -> tuple[list[Opportunity], list[list[Line]]]:
    """Closed deals of 2025-2026 and open pipeline closing in 2027 (plus a few slipped 2026 deals).

    Each won deal is also an order on its close date, so its amount is the sum of its lines.
    """
    prospected = sorted(own.sdr.by_subject)
    by_id = {a.id: a for a in accounts}
    opportunities: list[Opportunity] = []
    orders: list[list[Line]] = []
    for n in range(1, count + 1):
        from_sdr_list = prospected and rng.randrange(100) < 50
        account = by_id[rng.choice(prospected)] if from_sdr_list else rng.choice(accounts)
        created, close, is_open = _opportunity_dates(rng, account)
        stage, probability, status = _stage(rng, account, is_open)
        lines = _order(rng, account, close)
        sdr = own.sdr.at(account.id, created) or ""
        kind = rng.choice(("New Business", "Expansion", "Expansion", "Renewal"))
        owner = own.ae(account, min(close, AS_OF)) or ""
        current_sdr = own.sdr.at(account.id, AS_OF)
        if sdr and current_sdr and stage in ("Prospecting", "Qualification"):
            owner = current_sdr  # early-stage pipeline stays with the SDR who prospects the account
        opportunity = Opportunity(
            f"OPP-{n:06d}",
            f"{account.name} - {lines[0].product.family} {kind.lower()}",
            account,
            owner,
            stage,
            probability,
            sum((line.amount for line in lines), ZERO),
            close,
            created,
            status,
            kind,
            "SDR" if sdr else rng.choice(LEAD_SOURCES),
            sdr,
        )
        opportunities.append(opportunity)
        if status == "won":
            for line in lines:
                line.opportunity = opportunity.id
            orders.append(lines)
    return opportunities, orders


def _opportunity_dates(rng: random.Random, account: Account) -> tuple[date, date, bool]:
    """(created, close, open): about 40% open, most closing in 2027, a few slipped past due in late 2026."""
    low, high = {"SMB": (14, 60), "MM": (30, 120), "ENT": (60, 240)}[account.size]
    cycle = timedelta(days=rng.randint(low, high))
    if rng.randrange(100) < 40:
        slipped = rng.randrange(100) < 8
        span = (date(2026, 10, 15), DEMO_END) if slipped else (DEMO_END, date(2027, 12, 1))
        close = min(_day_between(rng, *span), _day_between(rng, *span))  # nearer months hold more
        created = min(close - cycle, AS_OF - timedelta(days=rng.randrange(60)))
        return created, close, True
    close = _day_between(rng, DEMO_START, DEMO_END)
    return close - cycle, close, False


def _stage(rng: random.Random, account: Account, is_open: bool) -> tuple[str, str, str]:
    """(stage, probability, status) of an open deal, or the outcome of a closed one."""
    if not is_open:
        win = {"SMB": 50, "MM": 42, "ENT": 35}[account.size]
        return ("Closed Won", "1", "won") if rng.randrange(100) < win else ("Closed Lost", "0", "lost")
    stage, probability, _ = rng.choices(STAGES, weights=[w for _, _, w in STAGES])[0]
    return stage, probability, "open"


# Forecasting signals: the stage a closed deal reached before it closed, and two activity signals. The outcome of
# a closed deal is already drawn (by `_stage`); these are drawn given it, so they carry real signal:
# P(win | reached Negotiation) is about 0.8, P(win | reached only Prospecting) about 0.05.
REACHED_WEIGHTS = {"won": (2, 8, 30, 60), "lost": (35, 30, 22, 13)}  # Prospecting .. Negotiation
OPEN_WIN_CHANCE = {"Prospecting": 45, "Qualification": 55, "Proposal": 68, "Negotiation": 79}  # percent


def _opportunity_signals(rng: random.Random, opportunities: list[Opportunity]) -> None:
    """Set `stage_reached` (closed deals), `activities` and `competitor` (every deal) from their own stream.

    An open deal's signals follow a latent outcome drawn with its stage's historical win chance, so a model
    trained on closed deals scores open ones on the same footing.
    """
    stages = [name for name, _, _ in STAGES]
    for o in opportunities:
        if o.status == "open":
            outcome = "won" if rng.randrange(100) < OPEN_WIN_CHANCE.get(o.stage, 50) else "lost"
        else:
            outcome = o.status
            o.stage_reached = rng.choices(stages, weights=REACHED_WEIGHTS[outcome])[0]
        o.activities = rng.randint(3, 14) if outcome == "won" else rng.randint(1, 9)
        o.competitor = "yes" if rng.randrange(100) < (30 if outcome == "won" else 55) else "no"


def _run_rate_orders(
    rng: random.Random, accounts: list[Account], wanted: int, won_orders: list[list[Line]]
) -> list[list[Line]]:
    """Orders on seasonal days until the sale lines (with the won deals') number `wanted`."""
    days, day_weights = _sale_days()
    account_weights: list[float] = []
    running = 0.0
    for account in accounts:
        running += ORDER_WEIGHT[account.size]
        account_weights.append(running)
    have = sum(len(o) for o in won_orders)
    orders: list[list[Line]] = []
    channels = ("Direct", "Direct", "Direct", "Partner", "Online")
    while have < wanted:
        day = rng.choices(days, cum_weights=day_weights)[0]
        account = rng.choices(accounts, cum_weights=account_weights)[0]
        lines = _order(rng, account, day)[: wanted - have]
        channel = rng.choice(channels)
        for line in lines:
            line.channel = channel
        orders.append(lines)
        have += len(lines)
    return orders


def _number_orders(orders: list[list[Line]]) -> list[Line]:
    """Order numbers in date order (SO-2025-000001) and line ids (SO-2025-000001-1)."""
    ordered = sorted(enumerate(orders), key=lambda pair: (pair[1][0].day, pair[0]))
    counters: dict[int, int] = {}
    lines: list[Line] = []
    for _, order in ordered:
        year = order[0].day.year
        counters[year] = counters.get(year, 0) + 1
        order_id = f"SO-{year}-{counters[year]:06d}"
        for k, line in enumerate(order, start=1):
            line.order_id = order_id
            line.id = f"{order_id}-{k}"
            lines.append(line)
    return lines


def _reversals(rng: random.Random, sales: list[Line], n_returns: int, n_cancels: int) -> list[Line]:
    """Partial returns (5-90 days later) and full cancellations (1-20 days later) of earlier sales.

    Ids follow the date: RT-000001 is the first return, CX-000001 the first cancellation.
    """
    used: set[int] = set()  # indexes into `sales`; only tested for membership
    reversals: list[Line] = []
    plan = [("return", 5, 90)] * n_returns + [("cancellation", 1, 20)] * n_cancels
    for kind, low, high in plan:
        for _ in range(1000):
            i = rng.randrange(len(sales))
            original = sales[i]
            day = original.day + timedelta(days=rng.randint(low, high))
            if i not in used and day < DEMO_END:
                break
        else:
            break  # too few sales left to reverse (only at a tiny scale)
        used.add(i)
        quantity = original.quantity if kind == "cancellation" else rng.randint(1, original.quantity)
        reversals.append(
            Line(
                day,
                original.account,
                original.product,
                -quantity,
                original.discount,
                type=kind,
                opportunity=original.opportunity,
                original=original,
                channel=original.channel,
            )
        )
    reversals.sort(key=lambda line: (line.day, line.original.id if line.original else ""))
    counters = {"return": 0, "cancellation": 0}
    for line in reversals:
        assert line.original is not None
        counters[line.type] += 1
        number = counters[line.type]
        if line.type == "return":
            line.id, line.order_id = f"RT-{number:06d}", f"RMA-{number:06d}"
        else:
            line.id, line.order_id = f"CX-{number:06d}", line.original.order_id
    return reversals


def _explicit_owners(rng: random.Random, org: Org, sales: list[Line], own: _Ownership, count: int) -> None:
    """A few lines credited by hand to another AE of the region (named deals, house accounts)."""
    aes = org.with_role("AE")
    for line in rng.sample(sales, min(count, len(sales))):
        territory_owner = own.ae(line.account, line.day)
        others = [p for p in aes if p.region == line.account.region and p.active(line.day) and p.id != territory_owner]
        if others:
            line.owner = rng.choice(others).id


def _splits(
    rng: random.Random, org: Org, sales: list[Line], own: _Ownership, count: int
) -> list[tuple[Line, str, str, str]]:
    """Larger deals split 60/40 or 50/50 between the territory owner and a teammate."""
    manager_of = Timeline(org.lines)
    aes = org.with_role("AE")
    candidates = [line for line in sales if not line.owner and line.account.size != "SMB"]
    splits: list[tuple[Line, str, str, str]] = []
    for line in rng.sample(candidates, min(len(candidates), count)):
        owner = own.ae(line.account, line.day)
        if owner is None:
            continue
        manager = manager_of.at(owner, line.day)
        mates = [p for p in aes if p.id != owner and p.active(line.day) and manager_of.at(p.id, line.day) == manager]
        if not mates:
            continue
        first, second = rng.choice((("0.6", "0.4"), ("0.5", "0.5")))
        mate = rng.choice(mates).id
        splits += [(line, owner, "owner", first), (line, mate, "owner", second)]
    splits.sort(key=lambda s: (s[0].day, s[0].id, s[1]))
    return splits


# --- quotas ----------------------------------------------------------------------------


def credited_bookings(company: Company) -> dict[tuple[str, str], Decimal]:
    """Net bookings in USD per (AE, quarter name), credited as the plan would: owner, split or territory."""
    own = _Ownership(company.coverage)
    split_of: dict[str, list[tuple[str, Decimal]]] = {}
    for line, payee, _, fraction in company.sales.splits:
        split_of.setdefault(line.id, []).append((payee, Decimal(fraction)))
    bookings: dict[tuple[str, str], Decimal] = {}
    for line in company.sales.lines:
        sale = line.original or line
        credits: list[tuple[str, Decimal]]
        if sale.owner:
            credits = [(sale.owner, Decimal(1))]
        elif sale.id in split_of:
            credits = split_of[sale.id]
        else:
            owner = own.ae(line.account, line.day)
            credits = [(owner, Decimal(1))] if owner else []
        usd = to_usd(company.fx, line.amount, line.currency, line.day)
        for payee, share in credits:
            key = (payee, _quarter_name(line.day))
            bookings[key] = bookings.get(key, ZERO) + usd * share
    return bookings


def build_quotas(rng: random.Random, company: Company) -> list[tuple[str, str, str, Decimal, str]]:
    """Quarterly and yearly bookings quotas (USD) for AEs and leaders; monthly meetings quotas for SDRs.

    An AE's quarterly quota is their credited bookings divided by a yearly performance
    factor (78-125%), rounded to 1,000, so attainment spreads around 100%. A leader's
    quota is 95% of the sum of their direct reports' quotas at the start of the quarter.
    """
    org = company.org
    bookings = credited_bookings(company)
    manager_of = Timeline(org.lines)
    quotas: dict[tuple[str, str], Decimal] = {}
    quarters = [(y, q, date(y, 3 * q - 2, 1)) for y in (2025, 2026) for q in range(1, 5)]
    for ae in org.with_role("AE"):
        for year in (2025, 2026):
            performance = Decimal(rng.randint(78, 125))
            for y, q, start in quarters:
                if y != year or not ae.active(start):
                    continue
                actual = bookings.get((ae.id, f"FY{y}-Q{q}"), ZERO)
                noise = Decimal(rng.randint(95, 105))
                quotas[(ae.id, f"FY{y}-Q{q}")] = max(Decimal(10_000), _round_to(actual * noise / performance, 1000))
    for role in ("Manager", "Director", "VP"):
        for leader in org.with_role(role):
            for y, q, start in quarters:
                name = f"FY{y}-Q{q}"
                reports = [p.id for p in org.people if manager_of.at(p.id, start) == leader.id]
                team = [quotas[(r, name)] for r in reports if (r, name) in quotas]
                if team:
                    quotas[(leader.id, name)] = _round_to(sum(team, ZERO) * Decimal("0.95"), 1000)
    rows: list[tuple[str, str, str, Decimal, str]] = []
    for person in org.people:
        for year in (2025, 2026):
            quarter_amounts = [quotas.get((person.id, f"FY{year}-Q{q}")) for q in range(1, 5)]
            for q, amount in enumerate(quarter_amounts, start=1):
                if amount is not None:
                    rows.append((person.id, "bookings", f"FY{year}-Q{q}", amount, "USD"))
            present = [a for a in quarter_amounts if a is not None]
            if present:
                rows.append((person.id, "bookings", f"FY{year}", sum(present, ZERO), "USD"))
    rows += _meeting_quotas(rng, company)
    return rows


def _meeting_quotas(rng: random.Random, company: Company) -> list[tuple[str, str, str, Decimal, str]]:
    """A monthly meetings quota per SDR (a sourced opportunity counts as a qualified meeting)."""
    org = company.org
    meetings: dict[str, int] = {}
    for opportunity in company.sales.opportunities:
        if opportunity.sdr and DEMO_START <= opportunity.created < DEMO_END:
            meetings[opportunity.sdr] = meetings.get(opportunity.sdr, 0) + 1
    rows: list[tuple[str, str, str, Decimal, str]] = []
    sdr_quota: dict[tuple[str, str], int] = {}
    for sdr in org.with_role("SDR"):
        months = [add_months(DEMO_START, i) for i in range(24)]
        working = [m for m in months if sdr.active(m)]
        average = Decimal(meetings.get(sdr.id, 0)) / max(1, len(working))
        target = max(2, int(_round_to(average * 100 / rng.randint(85, 120), 1)))
        for month in working:
            sdr_quota[(sdr.id, month.isoformat())] = target
    manager_of = Timeline(org.lines)
    sdr_leaders = [t.manager for t in org.teams if t.segment == "SDR"]
    for person in [*org.with_role("SDR"), *sdr_leaders]:
        for i in range(24):
            month = add_months(DEMO_START, i)
            if person.role == "SDR":
                amount = sdr_quota.get((person.id, month.isoformat()))
            else:
                team = [
                    sdr_quota.get((p.id, month.isoformat()), 0)
                    for p in org.with_role("SDR")
                    if manager_of.at(p.id, month) == person.id
                ]
                amount = sum(team) or None
            if amount is not None:
                rows.append((person.id, "meetings", f"FY{month.year}-M{month.month:02d}", Decimal(amount), ""))
    return rows


# --- the whole company -----------------------------------------------------------------


def build_company(seed: int, scale: float) -> Company:
    """Every entity of the demo company, before it is written out."""
    rng = random.Random(seed)
    org = build_org(_stream(rng))
    accounts = build_accounts(_stream(rng), _scaled(5000, scale, minimum=20))
    coverage = build_coverage(_stream(rng), org, accounts, scale)
    fx = build_fx(_stream(rng))
    sales = build_sales(_stream(rng), org, accounts, coverage, scale)
    company = Company(org, accounts, coverage, fx, sales)
    company.quotas = build_quotas(_stream(rng), company)
    # a stream of its own, seeded apart from `rng`, so the files above stay byte-identical to earlier releases
    _opportunity_signals(random.Random(f"opportunity-signals-{seed}"), sales.opportunities)
    return company


# --- rows per kind ---------------------------------------------------------------------

Row = dict[str, str]


def payee_rows(company: Company) -> Iterator[Row]:
    for p in company.org.people:
        yield {
            "id": p.id,
            "name": p.name,
            "email": p.email,
            "hire_date": _text(p.hire),
            "termination_date": _text(p.term),
            "pay_currency": p.pay_currency,
            "region": p.region,
            "role": p.role,
            "seniority": p.seniority,
            "cost_center": p.cost_center,
            "attr.office": p.office.name,
            "attr.country": p.office.country,
            "attr.segment": p.segment,
        }


def position_rows(company: Company) -> Iterator[Row]:
    """One seat per person; a seat's parent follows the reporting line, a leaver's seat falls vacant."""
    org = company.org
    seat = {p.id: f"POS-{p.role.upper()}-{p.id.removeprefix('EMP-')}" for p in org.people}
    team_of = {t.manager.id: t for t in org.teams}
    by_id = org.by_id()
    vp = org.with_role("VP")[0]
    yield {
        "id": seat[vp.id],
        "name": "VP of Sales",
        "role": "VP",
        "parent": "",
        "payee": vp.id,
        "effective_from": _text(max(HISTORY_START, vp.hire)),
        "effective_to": "",
    }
    for span in org.lines:
        person = by_id[span.subject]
        if person.role == "Director":
            name = f"Regional Director, {person.region}"
        elif person.role == "Manager":
            name = f"Sales Manager, {team_of[person.id].label}"
        else:
            title = "Account Executive" if person.role == "AE" else "Sales Development Rep"
            name = f"{title}, {team_of[span.target].label}"
        row = {"id": seat[person.id], "name": name, "role": person.role, "parent": seat[span.target]}
        yield {**row, "payee": person.id, "effective_from": _text(span.start), "effective_to": _text(span.end)}
        if person.term is not None and span.end == person.term:
            yield {**row, "payee": "", "effective_from": _text(person.term), "effective_to": ""}


def reporting_line_rows(company: Company) -> Iterator[Row]:
    for s in company.org.lines:
        yield {"payee": s.subject, "manager": s.target, "effective_from": _text(s.start), "effective_to": _text(s.end)}


def fx_rows(company: Company) -> Iterator[Row]:
    for (currency, month), rate in sorted(company.fx.items(), key=lambda item: (item[0][1], item[0][0])):
        reciprocal = (Decimal(1) / rate).quantize(RATE_PLACES, ROUND_HALF_UP)
        for source, target, value in ((currency, "USD", rate), ("USD", currency, reciprocal)):
            yield {
                "from_currency": source,
                "to_currency": target,
                "effective_date": _text(month),
                "rate": f"{value.quantize(RATE_PLACES):f}",
            }


def account_rows(company: Company) -> Iterator[Row]:
    for a in company.accounts:
        yield {
            "id": a.id,
            "name": a.name,
            "industry": a.industry,
            "size": a.size,
            "segment": a.segment,
            "employees": str(a.employees),
            "annual_revenue": _money(Decimal(a.annual_revenue)),
            "country": a.city.country,
            "region": a.region,
            "city": a.city.name,
            "latitude": f"{a.latitude:.4f}",
            "longitude": f"{a.longitude:.4f}",
            "potential": _money(Decimal(a.potential)),
            "attr.currency": a.currency,
        }


def territory_rows(company: Company) -> Iterator[Row]:
    for t in company.coverage.territories:
        yield {"id": t.id, "name": t.name, "parent": t.parent, "region": t.region, "attr.segment": t.segment}


def account_territory_rows(company: Company) -> Iterator[Row]:
    for s in company.coverage.account_territories:
        yield {
            "account": s.subject,
            "territory": s.target,
            "effective_from": _text(s.start),
            "effective_to": _text(s.end),
        }


def territory_assignment_rows(company: Company) -> Iterator[Row]:
    for s in company.coverage.owners:
        yield {
            "territory": s.subject,
            "payee": s.target,
            "role": "owner",
            "share": "1",
            "effective_from": _text(s.start),
            "effective_to": _text(s.end),
        }


def account_assignment_rows(company: Company) -> Iterator[Row]:
    for s in company.coverage.sdr_accounts:
        yield {
            "account": s.subject,
            "payee": s.target,
            "role": "sdr",
            "share": "1",
            "effective_from": _text(s.start),
            "effective_to": _text(s.end),
        }


def product_rows(company: Company) -> Iterator[Row]:
    for p in PRODUCTS:
        yield {
            "id": p.id,
            "name": p.name,
            "family": p.family,
            "list_price": _money(Decimal(p.price("USD"))),
            "currency": "USD",
            "attr.unit": p.unit,
            "attr.list_price_eur": _money(Decimal(p.price("EUR"))),
            "attr.list_price_gbp": _money(Decimal(p.price("GBP"))),
        }


def transaction_rows(company: Company) -> Iterator[Row]:
    for line in company.sales.lines:
        yield {
            "id": line.id,
            "date": _text(line.day),
            "type": line.type,
            "account": line.account.id,
            "product": line.product.id,
            "quantity": str(line.quantity),
            "amount": _money(line.amount),
            "currency": line.currency,
            "list_amount": _money(line.list_amount),
            "original": line.original.id if line.original else "",
            "owner": (line.original or line).owner,
            "order_id": line.order_id,
            "opportunity": line.opportunity,
            "attr.channel": line.channel,
            "attr.term_months": contract_term(line),
        }


TERM_MONTHS = {"SMB": 12, "MM": 24, "ENT": 36}  # subscription contract term by account size band
SUBSCRIPTION_FAMILIES = ("Platform", "Analytics")


def contract_term(line: Line) -> str:
    """The contract term of a subscription sale (`attr.term_months`): 12 months for SMB accounts, 24 for
    mid-market, 36 for enterprise; none for services, returns and cancellations. Drawn from no random stream,
    so the rest of the demo is unchanged."""
    if line.type != "sale" or line.product.family not in SUBSCRIPTION_FAMILIES:
        return ""
    return str(TERM_MONTHS[line.account.size])


def split_rows(company: Company) -> Iterator[Row]:
    for line, payee, role, share in company.sales.splits:
        yield {"transaction": line.id, "payee": payee, "role": role, "share": share}


def opportunity_rows(company: Company) -> Iterator[Row]:
    for o in company.sales.opportunities:
        yield {
            "id": o.id,
            "name": o.name,
            "account": o.account.id,
            "owner": o.owner,
            "stage": o.stage,
            "probability": o.probability,
            "amount": _money(o.amount),
            "currency": o.account.currency,
            "close_date": _text(o.close),
            "created_date": _text(o.created),
            "status": o.status,
            "attr.type": o.kind,
            "attr.lead_source": o.lead_source,
            "attr.sdr": o.sdr,
            "attr.stage_reached": o.stage_reached,
            "attr.activities": str(o.activities),
            "attr.competitor": o.competitor,
        }


def plan_rows(company: Company) -> Iterator[Row]:
    for plan_id, name, _, description in PLANS:
        yield {"id": plan_id, "name": name, "currency": "USD", "description": description}


def plan_version_rows(company: Company) -> Iterator[Row]:
    for plan_id, _, document, _ in PLANS:
        yield {
            "plan": plan_id,
            "version": "1",
            "effective_from": _text(DEMO_START),
            "effective_to": "",
            "document": f"{PLANS_DIR}/{document}",
        }


def plan_assignment_rows(company: Company) -> Iterator[Row]:
    sdr_leaders = [t.manager.id for t in company.org.teams if t.segment == "SDR"]
    for p in company.org.people:
        usd = TARGET_INCENTIVE[(p.role, p.seniority)]
        percent = {"USD": 100, "EUR": 92, "GBP": 79}[p.pay_currency]
        target = _round_to(Decimal(usd * percent) / 100, 1000)
        row = {
            "payee": p.id,
            "plan": PLAN_OF_ROLE[p.role],
            "effective_from": _text(max(DEMO_START, p.hire)),
            "effective_to": _text(p.term),
            "target_incentive": _money(target),
            "currency": p.pay_currency,
            "attr.pay_mix": {"AE": "50/50", "SDR": "70/30"}.get(p.role, "60/40"),
            "attr.ramp_months": "3" if p.hire >= DEMO_START else "",
            "attr.override_rate": OVERRIDE_RATE.get(p.role, ""),
            "attr.team_measure": "",
        }
        if p.role in OVERRIDE_RATE:
            row["attr.team_measure"] = "meetings" if p.id in sdr_leaders else "bookings"
        yield row


def quota_rows(company: Company) -> Iterator[Row]:
    for payee, measure, period, amount, currency in company.quotas:
        text = _money(amount) if currency else str(amount)
        yield {"payee": payee, "measure": measure, "period": period, "amount": text, "currency": currency}


def user_rows(company: Company) -> Iterator[Row]:
    """Admin, comp analyst and finance users; every leader as a manager; a few reps of each region."""
    yield {"email": "admin@demo.openspm.io", "name": "Demo Administrator", "roles": "admin", "payee": ""}
    yield {"email": "comp.analyst@demo.openspm.io", "name": "Jordan Reyes", "roles": "comp_analyst", "payee": ""}
    yield {"email": "finance@demo.openspm.io", "name": "Priya Raman", "roles": "finance", "payee": ""}
    org = company.org
    for p in [*org.with_role("VP"), *org.with_role("Director"), *org.with_role("Manager")]:
        yield {"email": p.email, "name": p.name, "roles": "manager", "payee": p.id}
    for region in REGIONS:
        staying = [p for p in org.people if p.region == region.code and p.term is None]
        reps = [p for p in staying if p.role == "AE"][:3] + [p for p in staying if p.role == "SDR"][:1]
        for p in reps:
            yield {"email": p.email, "name": p.name, "roles": "rep", "payee": p.id}


ROWS: dict[str, Callable[[Company], Iterator[Row]]] = {
    "fx_rates": fx_rows,
    "payees": payee_rows,
    "positions": position_rows,
    "reporting_lines": reporting_line_rows,
    "accounts": account_rows,
    "territories": territory_rows,
    "account_territories": account_territory_rows,
    "territory_assignments": territory_assignment_rows,
    "account_assignments": account_assignment_rows,
    "products": product_rows,
    "transactions": transaction_rows,
    "transaction_splits": split_rows,
    "opportunities": opportunity_rows,
    "plans": plan_rows,
    "plan_versions": plan_version_rows,
    "plan_assignments": plan_assignment_rows,
    "quotas": quota_rows,
    "users": user_rows,
}
"""Every demo file, in import order (references point only at earlier kinds or the same file)."""


# --- writing ---------------------------------------------------------------------------


def write_rows(path: Path, kind_name: str, rows: Iterable[Row]) -> None:
    """Write rows as CSV: the kind's columns, then any `attr.*` columns in first-seen order."""
    columns = [f.name for f in KINDS[kind_name].fields]
    materialised = list(rows)
    for row in materialised:
        for name in row:
            if name not in columns:
                if not name.startswith("attr."):
                    raise AssertionError(f"{kind_name} has no column {name!r}")
                columns.append(name)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(materialised)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def copy_plans(out_dir: Path) -> None:
    """Copy the plan documents next to the CSV files (plan_versions refers to them)."""
    target = out_dir / PLANS_DIR
    target.mkdir(parents=True, exist_ok=True)
    for _, _, document, _ in PLANS:
        text = resources.files(__package__).joinpath(PLANS_DIR, document).read_text(encoding="utf-8")
        (target / document).write_text(text, encoding="utf-8")


def generate(out_dir: Path, seed: int = 42, scale: float = 1.0) -> dict[str, Path]:
    """Write the demo company into `out_dir`: `{kind: csv path}` in import order, plus `plans/*.yaml`."""
    if not 0 < scale <= 10:
        raise InvalidInput(f"scale must be above 0 and at most 10, not {scale}")
    company = build_company(seed, scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_plans(out_dir)
    files: dict[str, Path] = {}
    for kind_name, rows in ROWS.items():
        path = out_dir / f"{kind_name}.csv"
        path.with_name(f"{kind_name}.rejected.csv").unlink(missing_ok=True)
        write_rows(path, kind_name, rows(company))
        files[kind_name] = path
    return files
