"""String enums for AssemblyAI's values, usable wherever speechkit takes or returns one.

Every enum is a :class:`~enum.StrEnum`, so a member *is* its wire string
(``LanguageCode.en_us == "en_us"``) and can be passed anywhere a string is accepted.
Response models type enum fields as ``SomeEnum | str`` (see :data:`OpenEnum`): a value the
server adds later arrives as a plain ``str`` instead of failing the parse, and requests accept
any string too, so a new option never needs an SDK release.

Member names are valid identifiers: ``-`` and ``/`` become ``_`` and Python keywords get a
trailing ``_`` (``SpeechModel.slam_1 == "slam-1"``, ``LanguageCode.is_ == "is"``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import Field

__all__ = [
    "AudioIntelligenceModelStatus",
    "BoostParam",
    "EntityType",
    "LanguageCode",
    "LemurModel",
    "OpenEnum",
    "PIIPolicy",
    "RedactPiiAudioQuality",
    "RedactedAudioStatus",
    "Sentiment",
    "SpeechModel",
    "SubstitutionPolicy",
    "SubtitleFormat",
    "SummaryModel",
    "SummaryType",
    "TranscriptStatus",
]

_E = TypeVar("_E", bound=StrEnum)

OpenEnum = Annotated[_E | str, Field(union_mode="left_to_right")]
"""``OpenEnum[SomeEnum]``: a known value becomes the enum member, an unknown one stays a ``str``.

Pydantic's default "smart" union would keep every string a plain ``str`` (an exact type match
beats the enum); ``left_to_right`` tries the enum first.
"""


class TranscriptStatus(StrEnum):
    """Where a transcription job is. ``completed`` and ``error`` are final."""

    queued = "queued"
    processing = "processing"
    completed = "completed"
    error = "error"


class SpeechModel(StrEnum):
    """Speech models for pre-recorded audio, including retired ones still seen in old transcripts.

    Today's models (``speechkit._core.options.values``): ``universal-3-5-pro``,
    ``universal-3-pro``, ``universal-2``, ``universal`` and ``slam-1``. ``best``, ``nano`` and
    ``conformer-2`` are retired: a config naming one still works but warns
    (``DeprecationWarning``). A request that names no model gets
    ``speech_models=["universal-3-5-pro", "universal-2"]``. The HEAD spec types the field as a
    free string; a model speechkit does not know yet goes in ``extra_params``.
    """

    universal_3_5_pro = "universal-3-5-pro"
    universal_3_pro = "universal-3-pro"
    universal_2 = "universal-2"
    universal = "universal"
    slam_1 = "slam-1"
    best = "best"
    nano = "nano"
    conformer_2 = "conformer-2"


class LanguageCode(StrEnum):
    """The 102 codes of the spec's ``TranscriptLanguageCode``. The server's default is ``en_us``.

    A request is checked against these before it is sent (``"english"`` gets "did you mean
    'en'"). The spec types ``language_code`` enum-or-string: to send a code speechkit does not
    know yet, put it in ``extra_params``: ``TranscriptionConfig(extra_params={"language_code":
    "xx"})``. Transcripts accept any code the server returns.
    """

    en = "en"  # English (global)
    en_au = "en_au"  # English (Australian)
    en_uk = "en_uk"  # English (British)
    en_us = "en_us"  # English (US)
    es = "es"  # Spanish
    fr = "fr"  # French
    de = "de"  # German
    it = "it"  # Italian
    pt = "pt"  # Portuguese
    nl = "nl"  # Dutch
    af = "af"  # Afrikaans
    sq = "sq"  # Albanian
    am = "am"  # Amharic
    ar = "ar"  # Arabic
    hy = "hy"  # Armenian
    as_ = "as"  # Assamese
    az = "az"  # Azerbaijani
    ba = "ba"  # Bashkir
    eu = "eu"  # Basque
    be = "be"  # Belarusian
    bn = "bn"  # Bengali
    bs = "bs"  # Bosnian
    br = "br"  # Breton
    bg = "bg"  # Bulgarian
    my = "my"  # Burmese
    ca = "ca"  # Catalan
    zh = "zh"  # Chinese
    hr = "hr"  # Croatian
    cs = "cs"  # Czech
    da = "da"  # Danish
    et = "et"  # Estonian
    fo = "fo"  # Faroese
    fi = "fi"  # Finnish
    gl = "gl"  # Galician
    ka = "ka"  # Georgian
    el = "el"  # Greek
    gu = "gu"  # Gujarati
    ht = "ht"  # Haitian
    ha = "ha"  # Hausa
    haw = "haw"  # Hawaiian
    he = "he"  # Hebrew
    hi = "hi"  # Hindi
    hu = "hu"  # Hungarian
    is_ = "is"  # Icelandic
    id = "id"  # Indonesian
    ja = "ja"  # Japanese
    jw = "jw"  # Javanese
    kn = "kn"  # Kannada
    kk = "kk"  # Kazakh
    km = "km"  # Khmer
    ko = "ko"  # Korean
    lo = "lo"  # Lao
    la = "la"  # Latin
    lv = "lv"  # Latvian
    ln = "ln"  # Lingala
    lt = "lt"  # Lithuanian
    lb = "lb"  # Luxembourgish
    mk = "mk"  # Macedonian
    mg = "mg"  # Malagasy
    ms = "ms"  # Malay
    ml = "ml"  # Malayalam
    mt = "mt"  # Maltese
    mi = "mi"  # Maori
    mr = "mr"  # Marathi
    mn = "mn"  # Mongolian
    ne = "ne"  # Nepali
    no = "no"  # Norwegian
    nn = "nn"  # Norwegian Nynorsk
    oc = "oc"  # Occitan
    pa = "pa"  # Panjabi
    ps = "ps"  # Pashto
    fa = "fa"  # Persian
    pl = "pl"  # Polish
    ro = "ro"  # Romanian
    ru = "ru"  # Russian
    sa = "sa"  # Sanskrit
    sr = "sr"  # Serbian
    sn = "sn"  # Shona
    sd = "sd"  # Sindhi
    si = "si"  # Sinhala
    sk = "sk"  # Slovak
    sl = "sl"  # Slovenian
    so = "so"  # Somali
    su = "su"  # Sundanese
    sw = "sw"  # Swahili
    sv = "sv"  # Swedish
    tl = "tl"  # Tagalog
    tg = "tg"  # Tajik
    ta = "ta"  # Tamil
    tt = "tt"  # Tatar
    te = "te"  # Telugu
    th = "th"  # Thai
    bo = "bo"  # Tibetan
    tr = "tr"  # Turkish
    tk = "tk"  # Turkmen
    uk = "uk"  # Ukrainian
    ur = "ur"  # Urdu
    uz = "uz"  # Uzbek
    vi = "vi"  # Vietnamese
    cy = "cy"  # Welsh
    yi = "yi"  # Yiddish
    yo = "yo"  # Yoruba


class PIIPolicy(StrEnum):
    """Kinds of personal information that PII redaction can remove (the spec's ``PiiPolicy``)."""

    account_number = "account_number"
    banking_information = "banking_information"
    blood_type = "blood_type"
    credit_card_cvv = "credit_card_cvv"
    credit_card_expiration = "credit_card_expiration"
    credit_card_number = "credit_card_number"
    date = "date"
    date_interval = "date_interval"
    date_of_birth = "date_of_birth"
    drivers_license = "drivers_license"
    drug = "drug"
    duration = "duration"
    email_address = "email_address"
    event = "event"
    filename = "filename"
    gender_sexuality = "gender_sexuality"
    healthcare_number = "healthcare_number"
    injury = "injury"
    ip_address = "ip_address"
    language = "language"
    location = "location"
    marital_status = "marital_status"
    medical_condition = "medical_condition"
    medical_process = "medical_process"
    money_amount = "money_amount"
    nationality = "nationality"
    number_sequence = "number_sequence"
    occupation = "occupation"
    organization = "organization"
    passport_number = "passport_number"
    password = "password"
    person_age = "person_age"
    person_name = "person_name"
    phone_number = "phone_number"
    physical_attribute = "physical_attribute"
    political_affiliation = "political_affiliation"
    religion = "religion"
    statistics = "statistics"
    time = "time"
    url = "url"
    us_social_security_number = "us_social_security_number"
    username = "username"
    vehicle_id = "vehicle_id"
    zodiac_sign = "zodiac_sign"


class EntityType(StrEnum):
    """Kinds of entity that entity detection reports. The spec lists the same 44 values as PII."""

    account_number = "account_number"
    banking_information = "banking_information"
    blood_type = "blood_type"
    credit_card_cvv = "credit_card_cvv"
    credit_card_expiration = "credit_card_expiration"
    credit_card_number = "credit_card_number"
    date = "date"
    date_interval = "date_interval"
    date_of_birth = "date_of_birth"
    drivers_license = "drivers_license"
    drug = "drug"
    duration = "duration"
    email_address = "email_address"
    event = "event"
    filename = "filename"
    gender_sexuality = "gender_sexuality"
    healthcare_number = "healthcare_number"
    injury = "injury"
    ip_address = "ip_address"
    language = "language"
    location = "location"
    marital_status = "marital_status"
    medical_condition = "medical_condition"
    medical_process = "medical_process"
    money_amount = "money_amount"
    nationality = "nationality"
    number_sequence = "number_sequence"
    occupation = "occupation"
    organization = "organization"
    passport_number = "passport_number"
    password = "password"
    person_age = "person_age"
    person_name = "person_name"
    phone_number = "phone_number"
    physical_attribute = "physical_attribute"
    political_affiliation = "political_affiliation"
    religion = "religion"
    statistics = "statistics"
    time = "time"
    url = "url"
    us_social_security_number = "us_social_security_number"
    username = "username"
    vehicle_id = "vehicle_id"
    zodiac_sign = "zodiac_sign"


class SubstitutionPolicy(StrEnum):
    """What redacted PII becomes: ``#`` characters, or the entity name (``[PERSON_NAME]``)."""

    entity_name = "entity_name"
    hash = "hash"


class RedactPiiAudioQuality(StrEnum):
    """File type of the PII-redacted audio copy. The server's default is ``mp3``."""

    mp3 = "mp3"
    wav = "wav"


class RedactedAudioStatus(StrEnum):
    """Status of a redacted-audio file; the spec defines only ``redacted_audio_ready``."""

    redacted_audio_ready = "redacted_audio_ready"


class SummaryModel(StrEnum):
    """Summarization models (deprecated feature: AssemblyAI points to LLM Gateway instead)."""

    informative = "informative"
    conversational = "conversational"
    catchy = "catchy"


class SummaryType(StrEnum):
    """Summary shapes (deprecated feature: AssemblyAI points to LLM Gateway instead)."""

    bullets = "bullets"
    bullets_verbose = "bullets_verbose"
    gist = "gist"
    headline = "headline"
    paragraph = "paragraph"


class Sentiment(StrEnum):
    """Sentiment of a sentence. The wire values are upper case."""

    positive = "POSITIVE"
    neutral = "NEUTRAL"
    negative = "NEGATIVE"


class AudioIntelligenceModelStatus(StrEnum):
    """Whether an audio-intelligence model ran: ``success``, or ``unavailable`` when it failed."""

    success = "success"
    unavailable = "unavailable"


class BoostParam(StrEnum):
    """How strongly ``word_boost`` words are favoured (the spec's ``TranscriptBoostParam``).

    ``word_boost`` and ``boost_param`` were dropped from the spec in 2025-10 (use
    ``keyterms_prompt``), but older servers and relays still send and accept them.
    """

    low = "low"
    default = "default"
    high = "high"


class SubtitleFormat(StrEnum):
    """Subtitle export formats."""

    srt = "srt"
    vtt = "vtt"


class LemurModel(StrEnum):
    """LeMUR ``final_model`` values: the HEAD enum plus retired values older servers knew.

    ``default``, ``basic``, ``assemblyai/mistral-7b`` and the Claude 2 / Instant models were
    sunset in 2025-02. LeMUR itself is deprecated in favour of LLM Gateway (spec 2025-10-22).
    """

    claude_sonnet_4_20250514 = "anthropic/claude-sonnet-4-20250514"
    claude_opus_4_20250514 = "anthropic/claude-opus-4-20250514"
    claude3_7_sonnet_20250219 = "anthropic/claude-3-7-sonnet-20250219"
    claude3_5_sonnet = "anthropic/claude-3-5-sonnet"
    claude3_5_haiku_20241022 = "anthropic/claude-3-5-haiku-20241022"
    claude3_opus = "anthropic/claude-3-opus"
    claude3_haiku = "anthropic/claude-3-haiku"
    claude3_sonnet = "anthropic/claude-3-sonnet"
    claude2_1 = "anthropic/claude-2-1"
    claude2_0 = "anthropic/claude-2"
    claude_instant1_2 = "anthropic/claude-instant-1-2"
    default = "default"
    basic = "basic"
    mistral7b = "assemblyai/mistral-7b"
