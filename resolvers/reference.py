"""National reference data: divisions, departments, the basic catalogue, licence types.

Pure and deterministic (a fixed `random.Random` seed, no clock, no I/O) so every seed of
the national hub and of the 31 provincial shards agrees on the same codes.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

CATALOGUE_SEED = 20161229
SUBJECT_SEED = 20200922
CATALOGUE_BASE_SIZE = 320
PERSONS_PER_SCALE = 5000
LEGAL_PERSONS_PER_SCALE = 1000
CROSS_PROVINCE_ITEMS = 140
CROSS_PROVINCE_FIRST_BATCH = 58


@dataclass(frozen=True, slots=True)
class Province:
    """A provincial-level division of GB/T 2260 and whether it runs a platform."""

    code: str
    prefix: str
    name_zh: str
    name_pinyin: str
    name_en: str
    iso3166_2: str
    division_type: str
    has_platform: bool


def _province(code: str, zh: str, pinyin: str, en: str, iso: str, kind: str) -> Province:
    return Province(code, code[:2], zh, pinyin, en, f"CN-{iso}", kind, code[:2] not in {"71", "81", "82"})


PROVINCES: tuple[Province, ...] = (
    _province("110000", "北京市", "Běijīng Shì", "Beijing", "BJ", "MUNICIPALITY"),
    _province("120000", "天津市", "Tiānjīn Shì", "Tianjin", "TJ", "MUNICIPALITY"),
    _province("130000", "河北省", "Héběi Shěng", "Hebei", "HE", "PROVINCE"),
    _province("140000", "山西省", "Shānxī Shěng", "Shanxi", "SX", "PROVINCE"),
    _province("150000", "内蒙古自治区", "Nèi Měnggǔ Zìzhìqū", "Inner Mongolia", "NM", "AUTONOMOUS_REGION"),
    _province("210000", "辽宁省", "Liáoníng Shěng", "Liaoning", "LN", "PROVINCE"),
    _province("220000", "吉林省", "Jílín Shěng", "Jilin", "JL", "PROVINCE"),
    _province("230000", "黑龙江省", "Hēilóngjiāng Shěng", "Heilongjiang", "HL", "PROVINCE"),
    _province("310000", "上海市", "Shànghǎi Shì", "Shanghai", "SH", "MUNICIPALITY"),
    _province("320000", "江苏省", "Jiāngsū Shěng", "Jiangsu", "JS", "PROVINCE"),
    _province("330000", "浙江省", "Zhèjiāng Shěng", "Zhejiang", "ZJ", "PROVINCE"),
    _province("340000", "安徽省", "Ānhuī Shěng", "Anhui", "AH", "PROVINCE"),
    _province("350000", "福建省", "Fújiàn Shěng", "Fujian", "FJ", "PROVINCE"),
    _province("360000", "江西省", "Jiāngxī Shěng", "Jiangxi", "JX", "PROVINCE"),
    _province("370000", "山东省", "Shāndōng Shěng", "Shandong", "SD", "PROVINCE"),
    _province("410000", "河南省", "Hénán Shěng", "Henan", "HA", "PROVINCE"),
    _province("420000", "湖北省", "Húběi Shěng", "Hubei", "HB", "PROVINCE"),
    _province("430000", "湖南省", "Húnán Shěng", "Hunan", "HN", "PROVINCE"),
    _province("440000", "广东省", "Guǎngdōng Shěng", "Guangdong", "GD", "PROVINCE"),
    _province("450000", "广西壮族自治区", "Guǎngxī Zhuàngzú Zìzhìqū", "Guangxi Zhuang", "GX", "AUTONOMOUS_REGION"),
    _province("460000", "海南省", "Hǎinán Shěng", "Hainan", "HI", "PROVINCE"),
    _province("500000", "重庆市", "Chóngqìng Shì", "Chongqing", "CQ", "MUNICIPALITY"),
    _province("510000", "四川省", "Sìchuān Shěng", "Sichuan", "SC", "PROVINCE"),
    _province("520000", "贵州省", "Guìzhōu Shěng", "Guizhou", "GZ", "PROVINCE"),
    _province("530000", "云南省", "Yúnnán Shěng", "Yunnan", "YN", "PROVINCE"),
    _province("540000", "西藏自治区", "Xīzàng Zìzhìqū", "Xizang (Tibet)", "XZ", "AUTONOMOUS_REGION"),
    _province("610000", "陕西省", "Shǎnxī Shěng", "Shaanxi", "SN", "PROVINCE"),
    _province("620000", "甘肃省", "Gānsù Shěng", "Gansu", "GS", "PROVINCE"),
    _province("630000", "青海省", "Qīnghǎi Shěng", "Qinghai", "QH", "PROVINCE"),
    _province("640000", "宁夏回族自治区", "Níngxià Huízú Zìzhìqū", "Ningxia Hui", "NX", "AUTONOMOUS_REGION"),
    _province("650000", "新疆维吾尔自治区", "Xīnjiāng Wéiwú'ěr Zìzhìqū", "Xinjiang Uygur", "XJ", "AUTONOMOUS_REGION"),
    _province("710000", "台湾省", "Táiwān Shěng", "Taiwan", "TW", "CLAIMED_PROVINCE"),
    _province("810000", "香港特别行政区", "Xiānggǎng Tèbié Xíngzhèngqū", "Hong Kong SAR", "HK", "SAR"),
    _province("820000", "澳门特别行政区", "Àomén Tèbié Xíngzhèngqū", "Macao SAR", "MO", "SAR"),
)

PLATFORM_PROVINCES: tuple[Province, ...] = tuple(p for p in PROVINCES if p.has_platform)

_BY_PREFIX = {p.prefix: p for p in PROVINCES}


def province(code_or_prefix: str) -> Province | None:
    """The province for a 2-digit prefix or a 6-digit provincial code; None if unknown."""
    value = code_or_prefix.strip()
    if len(value) == 2 and value.isdigit():
        return _BY_PREFIX.get(value)
    if len(value) == 6 and value.isdigit() and value.endswith("0000"):
        return _BY_PREFIX.get(value[:2])
    return None


# ---------------------------------------------------------------- credit codes

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code(body: str) -> str:
    """An 8-digit body plus its GB 11714 check character (9 characters)."""
    remainder = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS)) % 11
    check = "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)
    return body + check


def uscc(registrar: str, kind: str, division: str, org_body: str) -> str:
    """An 18-character GB 32100 unified social credit code with a valid check character."""
    head = registrar + kind + division + organisation_code(org_body)
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(head, _USCC_WEIGHTS))
    return head + _USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    """True when `code` has 18 characters of the GB 32100 alphabet and a correct check character."""
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


# ---------------------------------------------------------------- departments


@dataclass(frozen=True, slots=True)
class Department:
    """A State Council department (region 100000) that owns catalogue items."""

    uscc: str
    name: str


_DEPARTMENT_NAMES: tuple[tuple[str, str], ...] = (
    ("mps", "公安部"),
    ("mca", "民政部"),
    ("moj", "司法部"),
    ("mohrss", "人力资源和社会保障部"),
    ("mnr", "自然资源部"),
    ("mee", "生态环境部"),
    ("mohurd", "住房和城乡建设部"),
    ("mot", "交通运输部"),
    ("moa", "农业农村部"),
    ("mofcom", "商务部"),
    ("mct", "文化和旅游部"),
    ("nhc", "国家卫生健康委员会"),
    ("moe", "教育部"),
    ("samr", "国家市场监督管理总局"),
    ("sta", "国家税务总局"),
    ("nhsa", "国家医疗保障局"),
    ("nia", "国家移民管理局"),
    ("mem", "应急管理部"),
    ("mva", "退役军人事务部"),
    ("nmpa", "国家药品监督管理局"),
    ("customs", "海关总署"),
    ("tobacco", "国家烟草专卖局"),
    ("mwr", "水利部"),
    ("forestry", "国家林业和草原局"),
)


def _department_codes() -> dict[str, Department]:
    rng = random.Random(CATALOGUE_SEED)
    codes: dict[str, Department] = {}
    for key, name in _DEPARTMENT_NAMES:
        body = "0000" + f"{rng.randrange(10_000):04d}"
        codes[key] = Department(uscc("1", "1", "100000", body), name)
    return codes


_DEPT = _department_codes()
DEPARTMENTS: tuple[Department, ...] = tuple(_DEPT[key] for key, _ in _DEPARTMENT_NAMES)


# ---------------------------------------------------------------- licence types


@dataclass(frozen=True, slots=True)
class LicenceTypeEntry:
    """A licence type of the national catalogue (GB/T 36902): owner USCC + 3-digit sequence."""

    type_code: str
    name: str
    owner_uscc: str
    holder_type: str


_LICENCES: tuple[tuple[str, str, str], ...] = (
    ("samr", "营业执照", "LEGAL_PERSON"),
    ("samr", "食品经营许可证", "LEGAL_PERSON"),
    ("samr", "食品生产许可证", "LEGAL_PERSON"),
    ("samr", "特种设备使用登记证", "LEGAL_PERSON"),
    ("samr", "工业产品生产许可证", "LEGAL_PERSON"),
    ("mps", "居民户口簿", "NATURAL_PERSON"),
    ("mps", "居民身份证", "NATURAL_PERSON"),
    ("mps", "居住证", "NATURAL_PERSON"),
    ("mps", "机动车驾驶证", "NATURAL_PERSON"),
    ("mps", "机动车行驶证", "NATURAL_PERSON"),
    ("mca", "结婚证", "NATURAL_PERSON"),
    ("mca", "离婚证", "NATURAL_PERSON"),
    ("mca", "社会团体法人登记证书", "LEGAL_PERSON"),
    ("mca", "民办非企业单位登记证书", "LEGAL_PERSON"),
    ("nhc", "出生医学证明", "NATURAL_PERSON"),
    ("nhc", "医师执业证书", "NATURAL_PERSON"),
    ("nhc", "护士执业证书", "NATURAL_PERSON"),
    ("nhc", "医疗机构执业许可证", "LEGAL_PERSON"),
    ("nhc", "公共场所卫生许可证", "LEGAL_PERSON"),
    ("mohrss", "社会保障卡", "NATURAL_PERSON"),
    ("mohrss", "人力资源服务许可证", "LEGAL_PERSON"),
    ("mohrss", "职业资格证书", "NATURAL_PERSON"),
    ("mnr", "不动产权证书", "NATURAL_PERSON"),
    ("mnr", "建设用地规划许可证", "LEGAL_PERSON"),
    ("mnr", "采矿许可证", "LEGAL_PERSON"),
    ("mohurd", "建筑工程施工许可证", "LEGAL_PERSON"),
    ("mohurd", "建筑业企业资质证书", "LEGAL_PERSON"),
    ("mohurd", "商品房预售许可证", "LEGAL_PERSON"),
    ("mot", "道路运输经营许可证", "LEGAL_PERSON"),
    ("mot", "道路运输从业人员从业资格证", "NATURAL_PERSON"),
    ("mot", "网络预约出租汽车运输证", "NATURAL_PERSON"),
    ("moe", "教师资格证书", "NATURAL_PERSON"),
    ("moe", "民办学校办学许可证", "LEGAL_PERSON"),
    ("moj", "律师执业证", "NATURAL_PERSON"),
    ("moj", "公证书", "NATURAL_PERSON"),
    ("mee", "排污许可证", "LEGAL_PERSON"),
    ("mee", "危险废物经营许可证", "LEGAL_PERSON"),
    ("moa", "农药经营许可证", "LEGAL_PERSON"),
    ("moa", "兽药经营许可证", "LEGAL_PERSON"),
    ("moa", "拖拉机和联合收割机驾驶证", "NATURAL_PERSON"),
    ("mofcom", "对外贸易经营者备案登记表", "LEGAL_PERSON"),
    ("mofcom", "成品油零售经营批准证书", "LEGAL_PERSON"),
    ("mct", "旅行社业务经营许可证", "LEGAL_PERSON"),
    ("mct", "导游证", "NATURAL_PERSON"),
    ("mct", "网络文化经营许可证", "LEGAL_PERSON"),
    ("nia", "普通护照", "NATURAL_PERSON"),
    ("nia", "往来港澳通行证", "NATURAL_PERSON"),
    ("mem", "危险化学品经营许可证", "LEGAL_PERSON"),
    ("mem", "安全生产许可证", "LEGAL_PERSON"),
    ("mva", "退役军人优待证", "NATURAL_PERSON"),
    ("nmpa", "药品经营许可证", "LEGAL_PERSON"),
    ("nmpa", "医疗器械经营许可证", "LEGAL_PERSON"),
    ("tobacco", "烟草专卖零售许可证", "LEGAL_PERSON"),
    ("mwr", "取水许可证", "LEGAL_PERSON"),
    ("forestry", "林木采伐许可证", "NATURAL_PERSON"),
    ("sta", "完税证明", "NATURAL_PERSON"),
    ("nhsa", "医疗保障电子凭证", "NATURAL_PERSON"),
)


def _licence_types() -> tuple[LicenceTypeEntry, ...]:
    sequence: dict[str, int] = {}
    entries = []
    for owner, name, holder in _LICENCES:
        sequence[owner] = sequence.get(owner, 0) + 1
        owner_code = _DEPT[owner].uscc
        entries.append(LicenceTypeEntry(f"{owner_code}{sequence[owner]:03d}", name, owner_code, holder))
    return tuple(entries)


LICENCE_TYPES: tuple[LicenceTypeEntry, ...] = _licence_types()
_LICENCE_BY_NAME = {entry.name: entry for entry in LICENCE_TYPES}


# ---------------------------------------------------------------- shared data resources


@dataclass(frozen=True, slots=True)
class SharedDataResourceEntry:
    """A resource of the government information resource catalogue (国发〔2016〕51号)."""

    resource_code: str
    name: str
    provider_uscc: str
    share_type: str
    share_conditions: str | None
    fields: tuple[str, ...]


_RESOURCES: tuple[tuple[str, str, str, str | None, tuple[str, ...]], ...] = (
    ("mps", "居民身份证信息核验", "CONDITIONAL", "依申请核验，需关联办件编号并说明用途",
     ("姓名", "公民身份号码", "核验结果")),
    ("mps", "户籍信息", "CONDITIONAL", "仅限户籍、婚姻、社保等法定事项办理使用",
     ("姓名", "公民身份号码", "户籍地址", "户主关系", "登记日期")),
    ("samr", "营业执照信息", "UNCONDITIONAL", None,
     ("统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期", "住所", "经营范围")),
    ("samr", "企业经营异常名录信息", "UNCONDITIONAL", None, ("统一社会信用代码", "列入原因", "列入日期")),
    ("mohrss", "社保参保信息", "CONDITIONAL", "需参保人授权或法定职责依据",
     ("姓名", "公民身份号码", "参保险种", "参保状态", "缴费月数")),
    ("mca", "婚姻登记信息", "CONDITIONAL", "仅限婚姻状况相关事项，需当事人授权",
     ("男方姓名", "女方姓名", "登记类别", "登记日期", "登记机关")),
    ("mca", "低保和特困人员信息", "CONDITIONAL", "仅限社会救助事项使用", ("姓名", "救助类别", "救助起始日期")),
    ("nhc", "出生医学证明信息", "CONDITIONAL", "仅限户口登记和社保参保事项",
     ("新生儿姓名", "出生日期", "出生地点", "母亲姓名", "父亲姓名")),
    ("nhc", "医师执业注册信息", "UNCONDITIONAL", None, ("姓名", "执业类别", "执业范围", "执业机构")),
    ("mnr", "不动产登记信息", "CONDITIONAL", "需权利人授权或司法、征收依据",
     ("不动产单元号", "权利人", "坐落", "权利类型", "面积")),
    ("sta", "纳税人信息", "CONDITIONAL", "需纳税人授权", ("纳税人识别号", "纳税人名称", "纳税信用等级")),
    ("sta", "企业纳税信用等级", "UNCONDITIONAL", None, ("纳税人识别号", "评价年度", "信用等级")),
    ("moe", "学历学位信息", "CONDITIONAL", "需本人授权", ("姓名", "学历层次", "毕业院校", "毕业日期")),
    ("mps", "机动车驾驶证信息", "CONDITIONAL", "仅限交通、保险相关事项", ("姓名", "准驾车型", "有效期限", "状态")),
    ("mohurd", "建筑业企业资质信息", "UNCONDITIONAL", None, ("企业名称", "资质类别", "资质等级", "有效期")),
    ("mee", "排污许可信息", "UNCONDITIONAL", None, ("单位名称", "许可证编号", "行业类别", "有效期限")),
    ("nhsa", "医保参保信息", "CONDITIONAL", "需参保人授权", ("姓名", "参保地", "参保类别", "参保状态")),
    ("mva", "退役军人身份信息", "CONDITIONAL", "仅限优待抚恤事项", ("姓名", "退役时间", "安置地")),
    ("customs", "进出口企业备案信息", "UNCONDITIONAL", None, ("海关编码", "企业名称", "备案日期")),
    ("mps", "违法犯罪记录", "NOT_SHARED", None, ("姓名", "公民身份号码", "记录类别")),
    ("moj", "律师执业信息", "UNCONDITIONAL", None, ("姓名", "执业证号", "执业机构", "执业状态")),
    ("nmpa", "药品经营许可信息", "UNCONDITIONAL", None, ("企业名称", "许可证编号", "经营范围", "有效期")),
)


def _shared_data_resources() -> tuple[SharedDataResourceEntry, ...]:
    entries = []
    for index, (owner, name, share, conditions, fields) in enumerate(_RESOURCES, start=1):
        code = f"{_DEPT[owner].uscc[8:16]}/{index:05d}"
        entries.append(SharedDataResourceEntry(code, name, _DEPT[owner].uscc, share, conditions, fields))
    return tuple(entries)


SHARED_DATA_RESOURCES: tuple[SharedDataResourceEntry, ...] = _shared_data_resources()


# ---------------------------------------------------------------- basic catalogue

ITEM_TYPE_CODES: dict[str, str] = {
    "ADMINISTRATIVE_LICENSING": "01",
    "ADMINISTRATIVE_PENALTY": "02",
    "ADMINISTRATIVE_COERCION": "03",
    "ADMINISTRATIVE_LEVY": "04",
    "ADMINISTRATIVE_PAYMENT": "05",
    "ADMINISTRATIVE_INSPECTION": "06",
    "ADMINISTRATIVE_CONFIRMATION": "07",
    "ADMINISTRATIVE_REWARD": "08",
    "ADMINISTRATIVE_ADJUDICATION": "09",
    "OTHER_ADMINISTRATIVE_POWER": "10",
    "PUBLIC_SERVICE": "20",
}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """An item of the basic catalogue (基本目录), identical in every province.

    `catalog_code` is 12 digits: item type (2) + department sequence (3) + main item (4)
    + sub-item (3, "000" for a main item).
    """

    catalog_code: str
    name: str
    item_type: str
    department_uscc: str
    legal_time_limit: int
    legal_time_unit: str
    service_objects: tuple[str, ...]
    cross_province: bool
    cross_province_modes: tuple[str, ...]
    result_licence_type: str | None
    parent_code: str | None
    cross_province_year: int | None = None
    law_name: str | None = None
    use_levels: tuple[str, ...] = ()


_P = ("NATURAL_PERSON",)
_E = ("ENTERPRISE_LEGAL_PERSON",)
_PE = ("NATURAL_PERSON", "ENTERPRISE_LEGAL_PERSON")
_ORG = ("ENTERPRISE_LEGAL_PERSON", "PUBLIC_INSTITUTION", "SOCIAL_ORGANIZATION")
_LIC = "ADMINISTRATIVE_LICENSING"
_PS = "PUBLIC_SERVICE"
_CONF = "ADMINISTRATIVE_CONFIRMATION"
_PAY = "ADMINISTRATIVE_PAYMENT"
_WD = "WORKING_DAY"
_ND = "NATURAL_DAY"

# (department, main item name, item type, objects, legal limit, unit, licence issued, law)
_BASE_ITEMS: tuple[tuple[str, str, str, tuple[str, ...], int, str, str | None, str], ...] = (
    ("samr", "企业登记", _LIC, _E, 15, _WD, "营业执照", "中华人民共和国市场主体登记管理条例"),
    ("samr", "个体工商户登记", _LIC, _P, 15, _WD, "营业执照", "促进个体工商户发展条例"),
    ("samr", "食品经营许可", _LIC, _PE, 20, _WD, "食品经营许可证", "中华人民共和国食品安全法"),
    ("samr", "食品生产许可", _LIC, _E, 20, _WD, "食品生产许可证", "中华人民共和国食品安全法"),
    ("samr", "特种设备使用登记", _LIC, _E, 15, _WD, "特种设备使用登记证", "中华人民共和国特种设备安全法"),
    ("samr", "工业产品生产许可", _LIC, _E, 60, _ND, "工业产品生产许可证", "中华人民共和国工业产品生产许可证管理条例"),
    ("samr", "企业年度报告公示", _PS, _E, 1, _WD, None, "企业信息公示暂行条例"),
    ("samr", "食品安全违法行为处罚", "ADMINISTRATIVE_PENALTY", _E, 90, _ND, None, "中华人民共和国食品安全法"),
    ("samr", "特种设备安全监督检查", "ADMINISTRATIVE_INSPECTION", _E, 30, _WD, None, "中华人民共和国特种设备安全法"),
    ("mps", "户口迁移", _CONF, _P, 10, _WD, "居民户口簿", "中华人民共和国户口登记条例"),
    ("mps", "出生登记", _CONF, _P, 5, _WD, "居民户口簿", "中华人民共和国户口登记条例"),
    ("mps", "居民身份证申领", _PS, _P, 60, _ND, "居民身份证", "中华人民共和国居民身份证法"),
    ("mps", "居住证申领", _PS, _P, 15, _ND, "居住证", "居住证暂行条例"),
    ("mps", "机动车驾驶证申领", _LIC, _P, 10, _WD, "机动车驾驶证", "中华人民共和国道路交通安全法"),
    ("mps", "机动车登记", _LIC, _PE, 5, _WD, "机动车行驶证", "中华人民共和国道路交通安全法"),
    ("mps", "无犯罪记录证明开具", _PS, _P, 3, _WD, None, "公安机关办理犯罪记录查询工作规定"),
    ("mps", "交通违法行为处罚", "ADMINISTRATIVE_PENALTY", _P, 30, _ND, None, "中华人民共和国道路交通安全法"),
    ("mps", "扣留机动车", "ADMINISTRATIVE_COERCION", _P, 30, _ND, None, "中华人民共和国道路交通安全法"),
    ("mca", "内地居民婚姻登记", _CONF, _P, 1, _WD, "结婚证", "婚姻登记条例"),
    ("mca", "内地居民离婚登记", _CONF, _P, 30, _ND, "离婚证", "婚姻登记条例"),
    ("mca", "社会团体登记", _LIC, _ORG, 60, _WD, "社会团体法人登记证书", "社会团体登记管理条例"),
    ("mca", "民办非企业单位登记", _LIC, _ORG, 60, _WD, "民办非企业单位登记证书", "民办非企业单位登记管理暂行条例"),
    ("mca", "最低生活保障金给付", _PAY, _P, 30, _WD, None, "社会救助暂行办法"),
    ("mca", "特困人员救助供养", _PAY, _P, 30, _WD, None, "社会救助暂行办法"),
    ("mca", "残疾人两项补贴给付", _PAY, _P, 30, _WD, None, "国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见"),
    ("mca", "高龄津贴给付", _PAY, _P, 20, _WD, None, "中华人民共和国老年人权益保障法"),
    ("nhc", "出生医学证明办理", _PS, _P, 5, _WD, "出生医学证明", "中华人民共和国母婴保健法"),
    ("nhc", "医师执业注册", _LIC, _P, 20, _WD, "医师执业证书", "中华人民共和国医师法"),
    ("nhc", "护士执业注册", _LIC, _P, 20, _WD, "护士执业证书", "护士条例"),
    ("nhc", "医疗机构执业登记", _LIC, _ORG, 45, _WD, "医疗机构执业许可证", "医疗机构管理条例"),
    ("nhc", "公共场所卫生许可", _LIC, _PE, 20, _WD, "公共场所卫生许可证", "公共场所卫生管理条例"),
    ("nhc", "生育登记", _PS, _P, 1, _WD, None, "中华人民共和国人口与计划生育法"),
    ("nhc", "预防接种证办理", _PS, _P, 1, _WD, None, "中华人民共和国疫苗管理法"),
    ("mohrss", "社会保障卡申领", _PS, _P, 30, _ND, "社会保障卡", "中华人民共和国社会保险法"),
    ("mohrss", "基本养老保险关系转移接续", _PS, _P, 45, _WD, None, "中华人民共和国社会保险法"),
    ("mohrss", "失业保险金申领", _PAY, _P, 10, _WD, None, "失业保险条例"),
    ("mohrss", "工伤认定", _CONF, _PE, 60, _ND, None, "工伤保险条例"),
    ("mohrss", "人力资源服务许可", _LIC, _E, 20, _WD, "人力资源服务许可证", "人力资源市场暂行条例"),
    ("mohrss", "职业资格证书核发", _CONF, _P, 20, _WD, "职业资格证书", "中华人民共和国就业促进法"),
    ("mohrss", "城乡居民养老保险待遇申领", _PAY, _P, 20, _WD, None, "中华人民共和国社会保险法"),
    ("mohrss", "就业创业证申领", _PS, _P, 5, _WD, None, "就业服务与就业管理规定"),
    ("mohrss", "劳动人事争议仲裁", "ADMINISTRATIVE_ADJUDICATION", _PE, 45, _ND, None, "中华人民共和国劳动争议调解仲裁法"),
    ("nhsa", "医保关系转移接续", _PS, _P, 15, _WD, None, "中华人民共和国社会保险法"),
    ("nhsa", "异地就医备案", _PS, _P, 1, _WD, None, "中华人民共和国社会保险法"),
    ("nhsa", "门诊慢特病待遇认定", _CONF, _P, 15, _WD, None, "医疗保障基金使用监督管理条例"),
    ("nhsa", "医保电子凭证申领", _PS, _P, 1, _WD, "医疗保障电子凭证", "中华人民共和国社会保险法"),
    ("mnr", "不动产登记", _CONF, _PE, 30, _WD, "不动产权证书", "不动产登记暂行条例"),
    ("mnr", "建设用地规划许可", _LIC, _E, 20, _WD, "建设用地规划许可证", "中华人民共和国城乡规划法"),
    ("mnr", "采矿权审批", _LIC, _E, 40, _WD, "采矿许可证", "中华人民共和国矿产资源法"),
    ("mohurd", "建筑工程施工许可", _LIC, _E, 7, _WD, "建筑工程施工许可证", "中华人民共和国建筑法"),
    ("mohurd", "建筑业企业资质核准", _LIC, _E, 20, _WD, "建筑业企业资质证书", "中华人民共和国建筑法"),
    ("mohurd", "商品房预售许可", _LIC, _E, 10, _WD, "商品房预售许可证", "城市房地产开发经营管理条例"),
    ("mohurd", "住房公积金提取", _PAY, _P, 3, _WD, None, "住房公积金管理条例"),
    ("mohurd", "住房公积金贷款", _PS, _P, 15, _WD, None, "住房公积金管理条例"),
    ("mohurd", "公共租赁住房资格审核", _CONF, _P, 30, _WD, None, "公共租赁住房管理办法"),
    ("mot", "道路旅客运输经营许可", _LIC, _E, 20, _WD, "道路运输经营许可证", "中华人民共和国道路运输条例"),
    ("mot", "道路货物运输经营许可", _LIC, _PE, 20, _WD, "道路运输经营许可证", "中华人民共和国道路运输条例"),
    ("mot", "道路运输从业人员从业资格", _LIC, _P, 10, _WD, "道路运输从业人员从业资格证", "中华人民共和国道路运输条例"),
    ("mot", "网络预约出租汽车运输证核发", _LIC, _P, 20, _WD, "网络预约出租汽车运输证", "网络预约出租汽车经营服务管理暂行办法"),
    ("moe", "教师资格认定", _LIC, _P, 30, _WD, "教师资格证书", "教师资格条例"),
    ("moe", "民办学校设立", _LIC, _ORG, 90, _WD, "民办学校办学许可证", "中华人民共和国民办教育促进法"),
    ("moe", "学历证书查询验证", _PS, _P, 5, _WD, None, "中华人民共和国教育法"),
    ("moe", "义务教育入学", _PS, _P, 30, _ND, None, "中华人民共和国义务教育法"),
    ("moj", "律师执业许可", _LIC, _P, 30, _WD, "律师执业证", "中华人民共和国律师法"),
    ("moj", "公证", _PS, _P, 15, _WD, "公证书", "中华人民共和国公证法"),
    ("moj", "法律援助", _PS, _P, 7, _WD, None, "中华人民共和国法律援助法"),
    ("mee", "排污许可", _LIC, _E, 20, _WD, "排污许可证", "排污许可管理条例"),
    ("mee", "危险废物经营许可", _LIC, _E, 20, _WD, "危险废物经营许可证", "危险废物经营许可证管理办法"),
    ("mee", "建设项目环境影响评价文件审批", _LIC, _E, 60, _ND, None, "中华人民共和国环境影响评价法"),
    ("mee", "环境违法行为处罚", "ADMINISTRATIVE_PENALTY", _E, 90, _ND, None, "中华人民共和国环境保护法"),
    ("moa", "农药经营许可", _LIC, _PE, 20, _WD, "农药经营许可证", "农药管理条例"),
    ("moa", "兽药经营许可", _LIC, _PE, 20, _WD, "兽药经营许可证", "兽药管理条例"),
    ("moa", "拖拉机和联合收割机驾驶证核发", _LIC, _P, 10, _WD, "拖拉机和联合收割机驾驶证", "农业机械安全监督管理条例"),
    ("moa", "耕地地力保护补贴", _PAY, _P, 30, _WD, None, "中华人民共和国农业法"),
    ("mofcom", "对外贸易经营者备案登记", _CONF, _E, 5, _WD, "对外贸易经营者备案登记表", "中华人民共和国对外贸易法"),
    ("mofcom", "成品油零售经营资格审批", _LIC, _E, 20, _WD, "成品油零售经营批准证书", "成品油市场管理办法"),
    ("mct", "旅行社设立许可", _LIC, _E, 20, _WD, "旅行社业务经营许可证", "旅行社条例"),
    ("mct", "导游证核发", _LIC, _P, 10, _WD, "导游证", "导游人员管理条例"),
    ("mct", "网络文化经营许可", _LIC, _E, 20, _WD, "网络文化经营许可证", "互联网文化管理暂行规定"),
    ("nia", "普通护照签发", _PS, _P, 7, _WD, "普通护照", "中华人民共和国护照法"),
    ("nia", "往来港澳通行证签发", _PS, _P, 7, _WD, "往来港澳通行证", "中国公民因私事往来香港地区或者澳门地区的暂行管理办法"),
    ("mem", "危险化学品经营许可", _LIC, _E, 30, _WD, "危险化学品经营许可证", "危险化学品安全管理条例"),
    ("mem", "安全生产许可", _LIC, _E, 45, _WD, "安全生产许可证", "安全生产许可证条例"),
    ("mem", "安全生产违法行为处罚", "ADMINISTRATIVE_PENALTY", _E, 90, _ND, None, "中华人民共和国安全生产法"),
    ("mva", "退役军人优待证申领", _PS, _P, 30, _WD, "退役军人优待证", "中华人民共和国退役军人保障法"),
    ("mva", "伤残抚恤金给付", _PAY, _P, 30, _WD, None, "军人抚恤优待条例"),
    ("mva", "退役士兵自主就业一次性经济补助", _PAY, _P, 30, _WD, None, "退役士兵安置条例"),
    ("nmpa", "药品经营许可", _LIC, _E, 30, _WD, "药品经营许可证", "中华人民共和国药品管理法"),
    ("nmpa", "第三类医疗器械经营许可", _LIC, _E, 30, _WD, "医疗器械经营许可证", "医疗器械监督管理条例"),
    ("tobacco", "烟草专卖零售许可", _LIC, _PE, 20, _WD, "烟草专卖零售许可证", "中华人民共和国烟草专卖法"),
    ("mwr", "取水许可", _LIC, _PE, 45, _WD, "取水许可证", "取水许可和水资源费征收管理条例"),
    ("mwr", "水资源税征收", "ADMINISTRATIVE_LEVY", _PE, 30, _WD, None, "中华人民共和国资源税法"),
    ("forestry", "林木采伐许可", _LIC, _PE, 20, _WD, "林木采伐许可证", "中华人民共和国森林法"),
    ("sta", "个人所得税综合所得汇算清缴", _PS, _P, 30, _ND, None, "中华人民共和国个人所得税法"),
    ("sta", "完税证明开具", _PS, _PE, 1, _WD, "完税证明", "中华人民共和国税收征收管理法"),
    ("sta", "发票领用", _PS, _E, 1, _WD, None, "中华人民共和国发票管理办法"),
    ("sta", "城镇土地使用税征收", "ADMINISTRATIVE_LEVY", _E, 30, _WD, None, "中华人民共和国城镇土地使用税暂行条例"),
    ("customs", "报关单位备案", _CONF, _E, 5, _WD, None, "中华人民共和国海关法"),
    ("mct", "文化市场先进单位表彰", "ADMINISTRATIVE_REWARD", _ORG, 60, _WD, None, "中华人民共和国公共文化服务保障法"),
    ("mnr", "土地权属争议裁决", "ADMINISTRATIVE_ADJUDICATION", _PE, 90, _ND, None, "中华人民共和国土地管理法"),
    ("mohurd", "城市建筑垃圾处置核准", "OTHER_ADMINISTRATIVE_POWER", _E, 20, _WD, None, "城市市容和环境卫生管理条例"),
)

_LICENCE_ACTIONS = ("新办", "变更", "延续", "注销", "补办", "换发")
_CONFIRMATION_ACTIONS = ("办理", "变更", "更正", "补发")
_SERVICE_ACTIONS = ("申请", "变更", "查询")
_MORE_ACTIONS = ("告知承诺制办理", "跨区域迁移", "信息更正")


@dataclass(frozen=True, slots=True)
class _Family:
    main: CatalogEntry
    subs: tuple[CatalogEntry, ...]


def _actions(item_type: str) -> tuple[str, ...]:
    if item_type == _LIC:
        return _LICENCE_ACTIONS
    if item_type == _CONF:
        return _CONFIRMATION_ACTIONS
    if item_type in (_PS, _PAY):
        return _SERVICE_ACTIONS
    return ()


def _use_levels(item_type: str, rng: random.Random) -> tuple[str, ...]:
    levels = ["PROVINCIAL", "MUNICIPAL", "COUNTY"]
    if item_type in (_PS, _PAY, _CONF) and rng.random() < 0.4:
        levels.append("TOWNSHIP")
    return tuple(levels)


def _families(extra_rounds: int) -> list[_Family]:
    """Every main item with its sub-items; `extra_rounds` adds variants beyond scale 1."""
    rng = random.Random(CATALOGUE_SEED)
    dept_index = {key: i + 1 for i, (key, _) in enumerate(_DEPARTMENT_NAMES)}
    main_seq: dict[tuple[str, str], int] = {}
    families: list[_Family] = []
    for round_no in range(1 + extra_rounds):
        for dept, name, item_type, objects, limit, unit, licence, law in _BASE_ITEMS:
            key = (ITEM_TYPE_CODES[item_type], dept)
            main_seq[key] = main_seq.get(key, 0) + 1
            prefix = f"{key[0]}{dept_index[dept]:03d}{main_seq[key]:04d}"
            licence_code = _LICENCE_BY_NAME[licence].type_code if licence else None
            uscc_code = _DEPT[dept].uscc
            levels = _use_levels(item_type, rng)
            if round_no == 0:
                title = name
                actions = _actions(item_type)
            else:
                title = f"{name}（{_MORE_ACTIONS[(round_no - 1) % len(_MORE_ACTIONS)]}）"
                if round_no > len(_MORE_ACTIONS):
                    title = f"{title}第{round_no}类"
                actions = _actions(item_type)[:2]
            main = CatalogEntry(
                catalog_code=prefix + "000",
                name=title,
                item_type=item_type,
                department_uscc=uscc_code,
                legal_time_limit=limit,
                legal_time_unit=unit,
                service_objects=objects,
                cross_province=False,
                cross_province_modes=(),
                result_licence_type=licence_code,
                parent_code=None,
                law_name=law,
                use_levels=levels,
            )
            subs = tuple(
                CatalogEntry(
                    catalog_code=f"{prefix}{i:03d}",
                    name=f"{title}（{action}）",
                    item_type=item_type,
                    department_uscc=uscc_code,
                    legal_time_limit=max(1, limit - rng.randrange(0, max(1, limit // 2))),
                    legal_time_unit=unit,
                    service_objects=objects,
                    cross_province=False,
                    cross_province_modes=(),
                    result_licence_type=licence_code if action != "注销" else None,
                    parent_code=prefix + "000",
                    law_name=law,
                    use_levels=levels,
                )
                for i, action in enumerate(actions, start=1)
            )
            families.append(_Family(main, subs))
    first_round = families[: len(_BASE_ITEMS)]
    random.Random(CATALOGUE_SEED + 2).shuffle(first_round)
    return first_round + families[len(_BASE_ITEMS):]


def _cross_province_flags(entries: list[CatalogEntry], rng: random.Random) -> list[CatalogEntry]:
    """Mark the high-frequency 跨省通办 items: citizen- and enterprise-facing, 58 in the 2020 batch."""
    eligible = [
        i for i, e in enumerate(entries)
        if e.item_type in (_LIC, _PS, _PAY, _CONF) and not e.name.endswith("（注销）")
    ]
    chosen = sorted(rng.sample(eligible, min(CROSS_PROVINCE_ITEMS, len(eligible))))
    first_batch = set(rng.sample(chosen, min(CROSS_PROVINCE_FIRST_BATCH, len(chosen))))
    result = list(entries)
    for i in chosen:
        modes = ["FULL_ONLINE"]
        if rng.random() < 0.6:
            modes.append("REMOTE_RECEIPT")
        if rng.random() < 0.25:
            modes.append("MULTI_LOCATION")
        e = result[i]
        result[i] = CatalogEntry(
            e.catalog_code, e.name, e.item_type, e.department_uscc, e.legal_time_limit,
            e.legal_time_unit, e.service_objects, True, tuple(modes), e.result_licence_type,
            e.parent_code, 2020 if i in first_batch else 2021, e.law_name, e.use_levels,
        )
    return result


def _flatten(families: list[_Family]) -> list[CatalogEntry]:
    """Round by round, main items before sub-items, so any prefix keeps every parent it needs."""
    entries: list[CatalogEntry] = []
    per_round = len(_BASE_ITEMS)
    for start in range(0, len(families), per_round):
        chunk = families[start:start + per_round]
        entries.extend(family.main for family in chunk)
        entries.extend(sub for family in chunk for sub in family.subs)
    return entries


def catalogue_size(scale: float = 1.0) -> int:
    """How many basic-catalogue entries a dataset of this scale holds (~320 per unit, min 20)."""
    return max(20, round(CATALOGUE_BASE_SIZE * scale))


@lru_cache(maxsize=16)
def basic_catalogue(scale: float = 1.0) -> tuple[CatalogEntry, ...]:
    """The basic catalogue at this scale, sorted by code; a smaller scale is a subset of a larger one."""
    target = catalogue_size(scale)
    rounds = 0
    while len(_flatten(_families(rounds))) < max(target, CATALOGUE_BASE_SIZE):
        rounds += 1
    pool = _flatten(_families(rounds))
    flagged = _cross_province_flags(pool[:CATALOGUE_BASE_SIZE], random.Random(CATALOGUE_SEED + 1))
    pool = flagged + pool[CATALOGUE_BASE_SIZE:]
    return tuple(sorted(pool[:target], key=lambda e: e.catalog_code))


# ---------------------------------------------------------------- subjects


def subject_counts(scale: float = 1.0) -> tuple[int, int]:
    """(persons, legal persons) of the unified identity system at this scale."""
    return max(10, round(PERSONS_PER_SCALE * scale)), max(2, round(LEGAL_PERSONS_PER_SCALE * scale))


@lru_cache(maxsize=16)
def subject_ids(scale: float = 1.0) -> tuple[str, ...]:
    """Pseudonymous subject ids, persons ("P" + 11 digits) then legal persons ("L" + 11 digits).

    Each list is a prefix of the same endless sequence, so a smaller scale's ids are
    also ids at every larger scale.
    """
    persons, legal_persons = subject_counts(scale)
    return _id_sequence("P", persons, SUBJECT_SEED) + _id_sequence("L", legal_persons, SUBJECT_SEED + 1)


def _id_sequence(letter: str, count: int, seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    seen: set[str] = set()
    ids: list[str] = []
    while len(ids) < count:
        candidate = f"{letter}{rng.randrange(10**10, 10**11):011d}"
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return tuple(ids)


# ---------------------------------------------------------------- sub-provincial divisions

DIVISION_SEED = 19800101
MUNICIPALITY_PREFIXES = frozenset({"11", "12", "31", "50"})


@dataclass(frozen=True, slots=True)
class DivisionEntry:
    """A prefectural or county-level division of GB/T 2260 under a platform province."""

    code: str
    name_zh: str
    name_pinyin: str
    name_en: str
    level: str
    parent_code: str


# Each capital (or a municipality's 市辖区) with a few of its real districts: (code, name, pinyin).
_CAPITALS: dict[str, tuple[tuple[str, str, str], tuple[tuple[str, str, str], ...]]] = {
    "11": (("110100", "市辖区", "Shìxiáqū"), (
        ("110101", "东城区", "Dōngchéng"), ("110102", "西城区", "Xīchéng"), ("110105", "朝阳区", "Cháoyáng"),
        ("110106", "丰台区", "Fēngtái"), ("110108", "海淀区", "Hǎidiàn"))),
    "12": (("120100", "市辖区", "Shìxiáqū"), (
        ("120101", "和平区", "Hépíng"), ("120102", "河东区", "Hédōng"), ("120103", "河西区", "Héxī"),
        ("120104", "南开区", "Nánkāi"), ("120105", "河北区", "Héběi"))),
    "13": (("130100", "石家庄市", "Shíjiāzhuāng"), (
        ("130102", "长安区", "Cháng'ān"), ("130104", "桥西区", "Qiáoxī"), ("130105", "新华区", "Xīnhuá"),
        ("130108", "裕华区", "Yùhuá"))),
    "14": (("140100", "太原市", "Tàiyuán"), (
        ("140105", "小店区", "Xiǎodiàn"), ("140106", "迎泽区", "Yíngzé"), ("140107", "杏花岭区", "Xìnghuālǐng"),
        ("140108", "尖草坪区", "Jiāncǎopíng"))),
    "15": (("150100", "呼和浩特市", "Hūhéhàotè"), (
        ("150102", "新城区", "Xīnchéng"), ("150103", "回民区", "Huímín"), ("150104", "玉泉区", "Yùquán"),
        ("150105", "赛罕区", "Sàihǎn"))),
    "21": (("210100", "沈阳市", "Shěnyáng"), (
        ("210102", "和平区", "Hépíng"), ("210103", "沈河区", "Shěnhé"), ("210104", "大东区", "Dàdōng"),
        ("210105", "皇姑区", "Huánggū"))),
    "22": (("220100", "长春市", "Chángchūn"), (
        ("220102", "南关区", "Nánguān"), ("220103", "宽城区", "Kuānchéng"), ("220104", "朝阳区", "Cháoyáng"),
        ("220105", "二道区", "Èrdào"))),
    "23": (("230100", "哈尔滨市", "Hā'ěrbīn"), (
        ("230102", "道里区", "Dàolǐ"), ("230103", "南岗区", "Nángǎng"), ("230104", "道外区", "Dàowài"),
        ("230108", "平房区", "Píngfáng"))),
    "31": (("310100", "市辖区", "Shìxiáqū"), (
        ("310101", "黄浦区", "Huángpǔ"), ("310104", "徐汇区", "Xúhuì"), ("310105", "长宁区", "Chángníng"),
        ("310106", "静安区", "Jìng'ān"), ("310115", "浦东新区", "Pǔdōng Xīn"))),
    "32": (("320100", "南京市", "Nánjīng"), (
        ("320102", "玄武区", "Xuánwǔ"), ("320104", "秦淮区", "Qínhuái"), ("320105", "建邺区", "Jiànyè"),
        ("320106", "鼓楼区", "Gǔlóu"))),
    "33": (("330100", "杭州市", "Hángzhōu"), (
        ("330102", "上城区", "Shàngchéng"), ("330105", "拱墅区", "Gǒngshù"), ("330106", "西湖区", "Xīhú"),
        ("330108", "滨江区", "Bīnjiāng"))),
    "34": (("340100", "合肥市", "Héféi"), (
        ("340102", "瑶海区", "Yáohǎi"), ("340103", "庐阳区", "Lúyáng"), ("340104", "蜀山区", "Shǔshān"),
        ("340111", "包河区", "Bāohé"))),
    "35": (("350100", "福州市", "Fúzhōu"), (
        ("350102", "鼓楼区", "Gǔlóu"), ("350103", "台江区", "Táijiāng"), ("350104", "仓山区", "Cāngshān"),
        ("350105", "马尾区", "Mǎwěi"))),
    "36": (("360100", "南昌市", "Nánchāng"), (
        ("360102", "东湖区", "Dōnghú"), ("360103", "西湖区", "Xīhú"), ("360104", "青云谱区", "Qīngyúnpǔ"),
        ("360111", "青山湖区", "Qīngshānhú"))),
    "37": (("370100", "济南市", "Jǐnán"), (
        ("370102", "历下区", "Lìxià"), ("370103", "市中区", "Shìzhōng"), ("370104", "槐荫区", "Huáiyīn"),
        ("370105", "天桥区", "Tiānqiáo"))),
    "41": (("410100", "郑州市", "Zhèngzhōu"), (
        ("410102", "中原区", "Zhōngyuán"), ("410103", "二七区", "Èrqī"), ("410104", "管城回族区", "Guǎnchéng Huízú"),
        ("410105", "金水区", "Jīnshuǐ"))),
    "42": (("420100", "武汉市", "Wǔhàn"), (
        ("420102", "江岸区", "Jiāng'àn"), ("420103", "江汉区", "Jiānghàn"), ("420104", "硚口区", "Qiáokǒu"),
        ("420105", "汉阳区", "Hànyáng"))),
    "43": (("430100", "长沙市", "Chángshā"), (
        ("430102", "芙蓉区", "Fúróng"), ("430103", "天心区", "Tiānxīn"), ("430104", "岳麓区", "Yuèlù"),
        ("430105", "开福区", "Kāifú"))),
    "44": (("440100", "广州市", "Guǎngzhōu"), (
        ("440103", "荔湾区", "Lìwān"), ("440104", "越秀区", "Yuèxiù"), ("440105", "海珠区", "Hǎizhū"),
        ("440106", "天河区", "Tiānhé"))),
    "45": (("450100", "南宁市", "Nánníng"), (
        ("450102", "兴宁区", "Xīngníng"), ("450103", "青秀区", "Qīngxiù"), ("450105", "江南区", "Jiāngnán"),
        ("450107", "西乡塘区", "Xīxiāngtáng"))),
    "46": (("460100", "海口市", "Hǎikǒu"), (
        ("460105", "秀英区", "Xiùyīng"), ("460106", "龙华区", "Lónghuá"), ("460107", "琼山区", "Qióngshān"),
        ("460108", "美兰区", "Měilán"))),
    "50": (("500100", "市辖区", "Shìxiáqū"), (
        ("500101", "万州区", "Wànzhōu"), ("500103", "渝中区", "Yúzhōng"), ("500105", "江北区", "Jiāngběi"),
        ("500106", "沙坪坝区", "Shāpíngbà"), ("500108", "南岸区", "Nán'àn"))),
    "51": (("510100", "成都市", "Chéngdū"), (
        ("510104", "锦江区", "Jǐnjiāng"), ("510105", "青羊区", "Qīngyáng"), ("510106", "金牛区", "Jīnniú"),
        ("510107", "武侯区", "Wǔhóu"))),
    "52": (("520100", "贵阳市", "Guìyáng"), (
        ("520102", "南明区", "Nánmíng"), ("520103", "云岩区", "Yúnyán"), ("520111", "花溪区", "Huāxī"),
        ("520112", "乌当区", "Wūdāng"))),
    "53": (("530100", "昆明市", "Kūnmíng"), (
        ("530102", "五华区", "Wǔhuá"), ("530103", "盘龙区", "Pánlóng"), ("530111", "官渡区", "Guāndù"),
        ("530112", "西山区", "Xīshān"))),
    "54": (("540100", "拉萨市", "Lāsà"), (
        ("540102", "城关区", "Chéngguān"), ("540103", "堆龙德庆区", "Duīlóngdéqìng"), ("540104", "达孜区", "Dázī"))),
    "61": (("610100", "西安市", "Xī'ān"), (
        ("610102", "新城区", "Xīnchéng"), ("610103", "碑林区", "Bēilín"), ("610104", "莲湖区", "Liánhú"),
        ("610113", "雁塔区", "Yàntǎ"))),
    "62": (("620100", "兰州市", "Lánzhōu"), (
        ("620102", "城关区", "Chéngguān"), ("620103", "七里河区", "Qīlǐhé"), ("620104", "西固区", "Xīgù"),
        ("620105", "安宁区", "Ānníng"))),
    "63": (("630100", "西宁市", "Xīníng"), (
        ("630102", "城东区", "Chéngdōng"), ("630103", "城中区", "Chéngzhōng"), ("630104", "城西区", "Chéngxī"),
        ("630105", "城北区", "Chéngběi"))),
    "64": (("640100", "银川市", "Yínchuān"), (
        ("640104", "兴庆区", "Xīngqìng"), ("640105", "西夏区", "Xīxià"), ("640106", "金凤区", "Jīnfèng"))),
    "65": (("650100", "乌鲁木齐市", "Wūlǔmùqí"), (
        ("650102", "天山区", "Tiānshān"), ("650103", "沙依巴克区", "Shāyībākè"), ("650104", "新市区", "Xīnshì"),
        ("650105", "水磨沟区", "Shuǐmògōu"))),
}

# Syllables of the synthetic names beyond the capitals: (character, pinyin).
_HEADS: tuple[tuple[str, str], ...] = (
    ("东", "Dōng"), ("西", "Xī"), ("南", "Nán"), ("北", "Běi"), ("青", "Qīng"), ("安", "Ān"),
    ("永", "Yǒng"), ("长", "Cháng"), ("兴", "Xīng"), ("嘉", "Jiā"), ("清", "Qīng"), ("宁", "Níng"),
    ("德", "Dé"), ("和", "Hé"), ("新", "Xīn"), ("丰", "Fēng"), ("金", "Jīn"), ("云", "Yún"),
)
_TAILS: tuple[tuple[str, str], ...] = (
    ("平", "píng"), ("阳", "yáng"), ("山", "shān"), ("川", "chuān"), ("源", "yuán"), ("河", "hé"),
    ("林", "lín"), ("江", "jiāng"), ("泉", "quán"), ("州", "zhōu"), ("城", "chéng"), ("溪", "xī"),
    ("岭", "lǐng"), ("宁", "níng"), ("丰", "fēng"), ("华", "huá"),
)
_SUFFIXES: dict[str, tuple[str, str]] = {
    "市": ("Shì", "City"), "区": ("Qū", "District"), "县": ("Xiàn", "County"),
}
# County-level codes of a synthetic prefecture: districts 02–, counties 21–, a county-level city 81.
_COUNTY_KINDS: tuple[tuple[str, str], ...] = (("02", "区"), ("03", "区"), ("21", "县"), ("22", "县"), ("81", "市"))


def _plain(pinyin: str) -> str:
    """Pinyin without tone marks (and ü as u), as English names write it."""
    decomposed = unicodedata.normalize("NFD", pinyin)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("'", "")


def _entry(code: str, base_zh: str, base_pinyin: str, suffix: str, level: str, parent: str) -> DivisionEntry:
    pinyin_suffix, english_suffix = _SUFFIXES[suffix]
    return DivisionEntry(
        code, base_zh + suffix, f"{base_pinyin} {pinyin_suffix}", f"{_plain(base_pinyin)} {english_suffix}",
        level, parent,
    )


def _real(code: str, name_zh: str, pinyin: str, level: str, parent: str) -> DivisionEntry:
    if name_zh == "市辖区":
        return DivisionEntry(code, name_zh, pinyin, "City Districts", level, parent)
    return _entry(code, name_zh[:-1], pinyin, name_zh[-1], level, parent)


def _synthetic_name(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """A two-syllable name not yet used in this province; deterministic for a given rng."""
    while True:
        head, tail = rng.choice(_HEADS), rng.choice(_TAILS)
        if head[0] != tail[0] and head[0] + tail[0] not in taken:
            taken.add(head[0] + tail[0])
            return head[0] + tail[0], head[1] + tail[1]


def _province_divisions(province: Province) -> tuple[DivisionEntry, ...]:
    """The prefectures and counties of one platform province, prefectures before their counties."""
    rng = random.Random(f"{DIVISION_SEED}:{province.prefix}")
    (capital_code, capital_zh, capital_pinyin), districts = _CAPITALS[province.prefix]
    taken = {name[:-1] for _, name, _ in districts} | {capital_zh[:-1]}
    entries = [_real(capital_code, capital_zh, capital_pinyin, "PREFECTURAL", province.code)]
    entries += [_real(code, zh, pinyin, "COUNTY", capital_code) for code, zh, pinyin in districts]
    if province.prefix in MUNICIPALITY_PREFIXES:
        # A municipality's counties sit directly under its single 市辖区 (11 01 xx).
        for number in range(len(districts) + 1, len(districts) + 1 + rng.randint(1, 3)):
            zh, pinyin = _synthetic_name(rng, taken)
            entries.append(_entry(f"{capital_code[:4]}{number + 10:02d}", zh, pinyin, "区", "COUNTY", capital_code))
        return tuple(entries)
    for number in range(2, 2 + rng.randint(2, 4)):
        zh, pinyin = _synthetic_name(rng, taken)
        prefecture = _entry(f"{province.prefix}{number:02d}00", zh, pinyin, "市", "PREFECTURAL", province.code)
        entries.append(prefecture)
        for digits, suffix in sorted(rng.sample(_COUNTY_KINDS, rng.randint(3, 4))):
            zh, pinyin = _synthetic_name(rng, taken)
            entries.append(_entry(prefecture.code[:4] + digits, zh, pinyin, suffix, "COUNTY", prefecture.code))
    return tuple(entries)


DIVISIONS: tuple[DivisionEntry, ...] = tuple(
    entry for p in PLATFORM_PROVINCES for entry in _province_divisions(p)
)
"""Every prefecture and county of the platform provinces, in province order, each prefecture before its counties."""

_DIVISION_BY_CODE = {entry.code: entry for entry in DIVISIONS}
_CHILDREN: dict[str, tuple[DivisionEntry, ...]] = {
    parent: tuple(sorted((e for e in DIVISIONS if e.parent_code == parent), key=lambda e: e.code))
    for parent in {e.parent_code for e in DIVISIONS}
}


def division(code: str) -> DivisionEntry | None:
    """The prefecture or county with this 6-digit code; None for a province or an unknown code."""
    return _DIVISION_BY_CODE.get(code)


def prefectures(province_code: str) -> tuple[DivisionEntry, ...]:
    """The prefectural divisions of a province (by its 6-digit code), in code order."""
    return tuple(e for e in _CHILDREN.get(province_code, ()) if e.level == "PREFECTURAL")


def counties(prefecture_code: str) -> tuple[DivisionEntry, ...]:
    """The county-level divisions of a prefecture, in code order."""
    return tuple(e for e in _CHILDREN.get(prefecture_code, ()) if e.level == "COUNTY")
