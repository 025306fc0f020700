"""Personal data (个人信息) detection and masking.

What is found (:func:`find_pii`) and how it is masked (:func:`mask_pii`):

| kind | what | masked as |
|---|---|---|
| ``mobile`` | 11-digit mobile numbers 1[3-9]xxxxxxxxx, also ``138-1234-5678``, ``+86 138…`` | first 3 and last 4 kept: ``138****5678`` |
| ``landline`` | ``0371-66668888``, ``(0371)66668888``, ``037166668888``, with optional extension | area code and last 2 kept: ``0371-******88`` |
| ``id_card`` | 18-digit 居民身份证号 with a valid check digit (GB 11643) | first 6 and last 4 kept: ``410105********1234`` |
| ``credit_code`` | 18-character 统一社会信用代码 with a valid check digit (GB 32100-2015) | first 2 and last 4 kept |
| ``credit_code_invalid`` | credit-code shaped (with letters) but a wrong check digit | masked the same way, reported separately |
| ``email`` | e-mail addresses | first character and the domain kept: ``z***@qq.com`` |
| ``bank_card`` | 16–19 digits passing the Luhn check, after 卡号/银行卡/账号 | first 4 and last 4 kept |
| ``person_name`` | X先生/X女士/X小姐/X老师/X师傅/X阿姨/X经理 (X a surname), and a 2–3 character name after 联系人/姓名/来电人/我叫/本人/投诉人/举报人 | surname dropped for titles (``*先生``); full names keep the surname (``张**``) |

Decoys stay as they are: dates (2026-11-03, 20261103), amounts (12000元), 工单编号 and other order
numbers (13 digits, letters+digits), postcodes, and 18-digit numbers that are neither a valid ID
number nor a valid credit code. Masking is idempotent and never changes a text without PII.

:func:`salted_hash` keeps identifiers joinable (HMAC-SHA256 with a secret salt) without storing them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from stdnum.cn import uscc

# Common Chinese surnames (百家姓, the most frequent ~200, plus double surnames).
_DOUBLE_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
                    "令狐", "夏侯", "端木", "轩辕", "独孤", "南宫", "西门", "百里")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文"
    "牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛"
    "曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏"
    "席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAME_RE = "(?:" + "|".join(_DOUBLE_SURNAMES) + "|[" + _SURNAMES + "])"
_TITLES = "先生|女士|小姐|老师|师傅|阿姨|经理|大姐|大哥|老板"
_NAME_CUES = "联系人|姓名|来电人|诉求人|反映人|投诉人|举报人|当事人|我叫|本人叫|本人是|本人|户主|业主"
_CJK = r"[\u4e00-\u9fff]"

_PATTERNS = [
    ("email", r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    # 18 characters: ID numbers and credit codes (validated after matching).
    ("code18", r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])"),
    ("bank_card", r"(?:卡号|银行卡|银行账号|账号|帐号)[:：为是\s]*(?P<card>\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?:[ -]?\d{1,3})?)(?!\d)"),
    ("mobile", r"(?<![0-9A-Za-z])(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?![0-9A-Za-z])"),
    ("landline", r"(?<![0-9A-Za-z])(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[-\s]?)[2-9]\d{6,7}(?:[-转]\d{1,5})?(?![0-9A-Za-z])"),
    ("local_phone", r"(?:电话|手机|联系方式|座机|热线|号码)[:：是为\s]*(?P<local>[2-9]\d{6,7})(?!\d)"),
    ("person_title", rf"(?P<sn>{_SURNAME_RE})(?P<title>{_TITLES})"),
    ("person_cue", rf"(?:{_NAME_CUES})[:：为是\s]*(?P<full>{_SURNAME_RE}{_CJK}{{1,2}})(?=[，,。；;、\s（(：:）)电手联号]|$)"),
]
_COMBINED = re.compile("|".join(f"(?P<k{i}>{p})" for i, (_, p) in enumerate(_PATTERNS)))
_QUICK = re.compile(r"\d{4}|@|" + _TITLES + "|" + _NAME_CUES)

# Province-level administrative division codes (GB/T 2260): the first two digits of an ID number and
# characters 3–4 of a credit code. Checking them keeps random 18-digit order numbers out.
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                       "61 62 63 64 65 71 81 82".split())
_CREDIT_CHARS = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass(frozen=True)
class PiiMatch:
    """One personal datum found in a text."""

    kind: str
    start: int
    end: int
    value: str


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def is_valid_id_number(value: str) -> bool:
    """An 18-digit 身份证号 with a plausible birth date and a correct check digit (GB 11643).

    The birth-place code is not looked up: new county codes appear every year and a real number
    with a code missing from a table must still be masked.
    """
    value = value.upper()
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", value) or value[:2] not in _PROVINCES:
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not 1900 <= int(value[6:10]) <= 2099:
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def is_valid_credit_code(value: str | None) -> bool:
    """True when ``value`` is a 统一社会信用代码 with a correct check digit (GB 32100-2015)."""
    if not value:
        return False
    code = re.sub(r"[\s-]", "", str(value)).upper()
    return bool(_CREDIT_CHARS.match(code)) and uscc.is_valid(code)


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def _org_code_ok(code: str) -> bool:
    """The 组织机构代码 inside a credit code (characters 9–17) has its own GB 11714 check digit."""
    body, check = code[8:16], code[16]
    try:
        total = sum(w * int(c, 36) for w, c in zip((3, 7, 9, 10, 5, 8, 4, 2), body, strict=True))
    except ValueError:
        return False
    expected = 11 - total % 11
    return check == {10: "X", 11: "0"}.get(expected, str(expected))


def _classify_code18(value: str) -> str | None:
    up = value.upper()
    if is_valid_id_number(up):
        return "id_card"
    if _CREDIT_CHARS.match(up):
        # An all-digit number passes the final check digit by chance once in 31; a real code's
        # embedded organisation code must check too, which keeps order numbers out.
        if uscc.is_valid(up) and (not up.isdigit() or (_org_code_ok(up) and up[2:4] in _PROVINCES)):
            return "credit_code"
        # All digits and invalid: an order number, not a code. With letters: a mistyped credit code.
        if not up.isdigit():
            return "credit_code_invalid"
    return None


def find_pii(text: str | None) -> list[PiiMatch]:
    """Every personal datum in ``text``, in order of position (non-overlapping)."""
    if not text or not _QUICK.search(text):
        return []
    out: list[PiiMatch] = []
    for m in _COMBINED.finditer(text):
        idx = next(int(k[1:]) for k, v in m.groupdict().items() if v is not None and k.startswith("k"))
        kind = _PATTERNS[idx][0]
        start, end, value = m.start(), m.end(), m.group()
        if kind == "code18":
            kind = _classify_code18(value)
            if kind is None:
                continue
        elif kind == "bank_card":
            card = m.group("card")
            if not _luhn(re.sub(r"\D", "", card)):
                continue
            start, end, value = m.start("card"), m.end("card"), card
        elif kind == "local_phone":
            kind, start, end, value = "landline", m.start("local"), m.end("local"), m.group("local")
        elif kind == "person_title":
            kind = "person_name"
        elif kind == "person_cue":
            kind, start, end, value = "person_name", m.start("full"), m.end("full"), m.group("full")
            if "*" in value:
                continue
        out.append(PiiMatch(kind, start, end, value))
    return out


def _keep(value: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, star the rest (separators dropped)."""
    core = re.sub(r"[\s-]", "", value)
    if len(core) <= head + tail:
        return "*" * len(core)
    return core[:head] + "*" * (len(core) - head - tail) + core[len(core) - tail:]


def _mask_match(m: PiiMatch) -> str:
    v = m.value
    if m.kind == "mobile":
        digits = re.sub(r"\D", "", v)
        digits = digits[-11:]
        return digits[:3] + "****" + digits[-4:]
    if m.kind == "landline":
        mm = re.match(r"[（(]?(0\d{2,3})[)）]?[-\s]?(\d+)(.*)", v)
        if mm:
            area, number = mm.group(1), mm.group(2)
            return f"{area}-" + "*" * (len(number) - 2) + number[-2:]
        return "*" * (len(v) - 2) + v[-2:]
    if m.kind == "id_card":
        return _keep(v, 6, 4)
    if m.kind in ("credit_code", "credit_code_invalid"):
        return _keep(v.upper(), 2, 4)
    if m.kind == "bank_card":
        return _keep(v, 4, 4)
    if m.kind == "email":
        local, _, domain = v.partition("@")
        return local[:1] + "***@" + domain
    if m.kind == "person_name":
        for title in _TITLES.split("|"):
            if v.endswith(title) and len(v) > len(title):
                return "*" + title
        sn = next((d for d in _DOUBLE_SURNAMES if v.startswith(d)), v[:1])
        return sn + "*" * (len(v) - len(sn))
    return "*" * len(v)


def mask_pii(text: str | None) -> str:
    """``text`` with every personal datum masked (see the module docstring); "" for None."""
    if not text:
        return text or ""
    matches = find_pii(text)
    if not matches:
        return text
    parts, pos = [], 0
    for m in matches:
        parts.append(text[pos:m.start])
        parts.append(_mask_match(m))
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def mask_many(texts: Iterable[str | None]) -> list[str]:
    """:func:`mask_pii` over many texts (texts without any digit run, @ or name cue are passed through)."""
    quick = _QUICK.search
    return [mask_pii(t) if t and quick(t) else (t or "") for t in texts]


def mask_name(name: str | None) -> str | None:
    """A person-name FIELD: 张三 → 张*, 欧阳娜娜 → 欧阳**, 王先生 → *先生; other text is masked for PII."""
    if name is None:
        return None
    name = str(name).strip()
    if not name:
        return None
    if re.fullmatch(rf"{_CJK}{{2,4}}", name):
        for title in _TITLES.split("|"):
            if name.endswith(title) and len(name) > len(title):
                return "*" + title
        sn = next((d for d in _DOUBLE_SURNAMES if name.startswith(d) and len(name) > 2), name[:1])
        return sn + "*" * (len(name) - len(sn))
    if re.fullmatch(r"[A-Za-z][A-Za-z .'-]{1,40}", name):
        return name[0] + "***"
    masked = mask_pii(name)
    return masked if masked != name else (name[:1] + "*" * min(len(name) - 1, 3))


def mask_phone_field(value: str | None) -> str | None:
    """A phone-number FIELD: every number masked; digits left over after masking keep only the last 4."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    masked = mask_pii(value)
    # Whatever long digit run is left (a malformed number) is still a phone field's content.
    return re.sub(r"\d{5,}", lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], masked)


def mask_credit_code(code: str | None) -> str | None:
    """A credit-code FIELD: first 2 and last 4 characters kept, whatever its validity."""
    if not code:
        return None
    return _keep(str(code).strip().upper(), 2, 4)


_REGION = re.compile(r"^(?:(?:北京|天津|上海|重庆|河南|河北|山东|山西|湖北|湖南|江苏|浙江|安徽|福建|江西|广东|广西|"
                     r"海南|四川|贵州|云南|陕西|甘肃|青海|辽宁|吉林|黑龙江|内蒙古|宁夏|新疆|西藏)(?:省|市|自治区)?)?"
                     r"(?:[\u4e00-\u9fff]{2,3}市)?(?:[\u4e00-\u9fff]{2,4}?(?:新区|区|县))?")
_ORG_FORM = re.compile(r"(?:(?:科技|信息技术|网络|贸易|商贸|建筑|建设|工程|餐饮|物流|实业|电子|机械|文化|传媒|"
                       r"食品|服装|医药|教育|咨询|置业|房地产|物业|设计|环保|新材料|能源|农业|汽车|装饰)?"
                       r"(?:(?:股份)?有限(?:责任)?公司|集团(?:有限公司)?|合作社|工作室|经营部|商行|商店|超市|门市部|"
                       r"厂|店|馆|中心|事务所|分公司))$")


def mask_org_name(name: str | None) -> str | None:
    """An enterprise name: region prefix and organisational form kept, the trade name masked.

    河南恒达科技有限公司 → 河南**科技有限公司. Individual businesses (个体工商户) often carry their
    owner's name (张三烩面馆): their trade name is masked the same way.
    """
    if name is None:
        return None
    name = mask_pii(str(name).strip())
    if not name:
        return None
    region = _REGION.match(name)
    head = region.group() if region else ""
    rest = name[len(head):]
    form = _ORG_FORM.search(rest)
    tail = form.group() if form else ""
    middle = rest[: len(rest) - len(tail)] if tail else rest
    if not middle:
        return name
    if not tail and not head:
        return name[:1] + "**" + (name[-2:] if len(name) > 4 else "")
    return head + "**" + tail


def salted_hash(value: str | None, salt: str) -> str | None:
    """HMAC-SHA256 of the normalised value (spaces and dashes removed, upper case), 24 hex chars."""
    if value is None:
        return None
    norm = re.sub(r"[\s-]", "", str(value)).upper()
    if not norm:
        return None
    return hmac.new(salt.encode("utf-8"), norm.encode("utf-8"), hashlib.sha256).hexdigest()[:24]
