"""Enumerations of the provincial subgraph; names match the national dictionaries and DOMAIN.md."""
from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class ItemType(Enum):
    ADMINISTRATIVE_LICENSING = "ADMINISTRATIVE_LICENSING"
    ADMINISTRATIVE_PENALTY = "ADMINISTRATIVE_PENALTY"
    ADMINISTRATIVE_COERCION = "ADMINISTRATIVE_COERCION"
    ADMINISTRATIVE_LEVY = "ADMINISTRATIVE_LEVY"
    ADMINISTRATIVE_PAYMENT = "ADMINISTRATIVE_PAYMENT"
    ADMINISTRATIVE_INSPECTION = "ADMINISTRATIVE_INSPECTION"
    ADMINISTRATIVE_CONFIRMATION = "ADMINISTRATIVE_CONFIRMATION"
    ADMINISTRATIVE_REWARD = "ADMINISTRATIVE_REWARD"
    ADMINISTRATIVE_ADJUDICATION = "ADMINISTRATIVE_ADJUDICATION"
    OTHER_ADMINISTRATIVE_POWER = "OTHER_ADMINISTRATIVE_POWER"
    PUBLIC_SERVICE = "PUBLIC_SERVICE"


@strawberry.enum
class UseLevel(Enum):
    NATIONAL = "NATIONAL"
    PROVINCIAL = "PROVINCIAL"
    MUNICIPAL = "MUNICIPAL"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"


@strawberry.enum
class TimeUnit(Enum):
    WORKING_DAY = "WORKING_DAY"
    NATURAL_DAY = "NATURAL_DAY"
    HOUR = "HOUR"
    MONTH = "MONTH"


@strawberry.enum
class CrossProvinceMode(Enum):
    FULL_ONLINE = "FULL_ONLINE"
    REMOTE_RECEIPT = "REMOTE_RECEIPT"
    MULTI_LOCATION = "MULTI_LOCATION"


@strawberry.enum(description="网上办理深度 summary level")
class OnlineDepth(Enum):
    I_GUIDE_ONLY = "I_GUIDE_ONLY"
    II_DOWNLOAD_OR_BOOK = "II_DOWNLOAD_OR_BOOK"
    III_ONLINE_PRE_REVIEW = "III_ONLINE_PRE_REVIEW"
    IV_FULL_ONLINE = "IV_FULL_ONLINE"


@strawberry.enum(description="办件类型: 即办件 / 承诺件")
class ProjectType(Enum):
    IMMEDIATE = "IMMEDIATE"
    PROMISED = "PROMISED"


@strawberry.enum
class HandleForm(Enum):
    WINDOW = "WINDOW"
    ONLINE = "ONLINE"
    MAIL = "MAIL"
    SELF_SERVICE_TERMINAL = "SELF_SERVICE_TERMINAL"


@strawberry.enum(description="实施主体性质")
class AgencyNature(Enum):
    STATUTORY_ORGAN = "STATUTORY_ORGAN"
    AUTHORISED_ORGANISATION = "AUTHORISED_ORGANISATION"
    ENTRUSTED_ORGANISATION = "ENTRUSTED_ORGANISATION"


@strawberry.enum(description="通办范围")
class HandlingScope(Enum):
    NATIONWIDE = "NATIONWIDE"
    CROSS_PROVINCE = "CROSS_PROVINCE"
    PROVINCE_WIDE = "PROVINCE_WIDE"
    CITY_WIDE = "CITY_WIDE"
    COUNTY_WIDE = "COUNTY_WIDE"
    NONE = "NONE"


@strawberry.enum
class MaterialForm(Enum):
    PAPER = "PAPER"
    ELECTRONIC = "ELECTRONIC"
    PAPER_AND_ELECTRONIC = "PAPER_AND_ELECTRONIC"


@strawberry.enum
class Channel(Enum):
    PC = "PC"
    MOBILE = "MOBILE"
    WINDOW = "WINDOW"
    SELF_SERVICE = "SELF_SERVICE"
    MAIL = "MAIL"
    HOTLINE_12345 = "HOTLINE_12345"


@strawberry.enum(description="办件状态 (申请、受理、审查、决定、送达)")
class ApplicationStatus(Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    PRE_REVIEW = "PRE_REVIEW"
    SUPPLEMENT_REQUIRED = "SUPPLEMENT_REQUIRED"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    ACCEPTED = "ACCEPTED"
    IN_REVIEW = "IN_REVIEW"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    DELIVERED = "DELIVERED"
    WITHDRAWN = "WITHDRAWN"


@strawberry.enum(description="审批环节: 承办 / 审核 / 批准")
class ReviewStage(Enum):
    UNDERTAKE = "UNDERTAKE"
    AUDIT = "AUDIT"
    APPROVE = "APPROVE"


@strawberry.enum(description="办结结果 (BJJGDM-style)")
class CompletionResult(Enum):
    ISSUED = "ISSUED"
    RETURNED = "RETURNED"
    VOIDED = "VOIDED"
    DELETED = "DELETED"
    FORWARDED = "FORWARDED"
    SUPPLEMENT_TIMEOUT = "SUPPLEMENT_TIMEOUT"
    DONE = "DONE"


@strawberry.enum
class DeliveryMethod(Enum):
    COUNTER_PICKUP = "COUNTER_PICKUP"
    POST = "POST"
    ELECTRONIC = "ELECTRONIC"


@strawberry.enum(description="证照状态")
class LicenceStatus(Enum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    TRANSFERRED_OUT = "TRANSFERRED_OUT"
    WITHDRAWN = "WITHDRAWN"
    OTHER = "OTHER"


@strawberry.enum(description="证照信息可信等级 (国办函〔2016〕108号)")
class TrustLevel(Enum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


@strawberry.enum(description="好差评 levels; the bottom two are negative (差评)")
class EvaluationLevel(Enum):
    VERY_DISSATISFIED = "VERY_DISSATISFIED"
    DISSATISFIED = "DISSATISFIED"
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"
    SATISFIED = "SATISFIED"
    VERY_SATISFIED = "VERY_SATISFIED"


@strawberry.enum
class RectificationStatus(Enum):
    PENDING_CALLBACK = "PENDING_CALLBACK"
    RECTIFYING = "RECTIFYING"
    RECTIFIED = "RECTIFIED"
    EXPLAINED = "EXPLAINED"
    APPEAL_UPHELD = "APPEAL_UPHELD"


@strawberry.enum
class AccessOutcome(Enum):
    GRANTED = "GRANTED"
    DENIED = "DENIED"
