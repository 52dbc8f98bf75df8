"""The values the batch options accept, as plain tuples (pure data, no imports).

Sources: AssemblyAI's HEAD OpenAPI spec (``TranscriptLanguageCode``, ``PiiPolicy``,
``SubstitutionPolicy``, ``RedactPiiAudioQuality``, ``SummaryModel``, ``SummaryType``), the
model-selection docs and the official ``assemblyai`` 1.8.2 package (speech model names; the spec
types them as free strings). ``tests/core/test_option_tables.py`` holds these against the spec,
and ``speechkit.models.enums`` against these.
"""

from __future__ import annotations

__all__ = [
    "BOOST_PARAMS",
    "DEFAULT_SPEECH_MODELS",
    "KEYTERMS_MATCH_STRENGTHS",
    "LANGUAGE_CODES",
    "LANGUAGE_NAMES",
    "PII_POLICIES",
    "REDACT_PII_AUDIO_QUALITIES",
    "REMOVE_AUDIO_TAGS",
    "RETIRED_SPEECH_MODELS",
    "SPEECH_MODELS",
    "SUBSTITUTION_POLICIES",
    "SUMMARY_MODELS",
    "SUMMARY_TYPES",
]

#: The spec's ``TranscriptLanguageCode`` (102 codes) with their English names, in the spec's
#: order. The server's default is ``en_us``.
LANGUAGE_NAMES = {
    "en": "English (global)",
    "en_au": "English (Australian)",
    "en_uk": "English (British)",
    "en_us": "English (US)",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "af": "Afrikaans",
    "sq": "Albanian",
    "am": "Amharic",
    "ar": "Arabic",
    "hy": "Armenian",
    "as": "Assamese",
    "az": "Azerbaijani",
    "ba": "Bashkir",
    "eu": "Basque",
    "be": "Belarusian",
    "bn": "Bengali",
    "bs": "Bosnian",
    "br": "Breton",
    "bg": "Bulgarian",
    "my": "Burmese",
    "ca": "Catalan",
    "zh": "Chinese",
    "hr": "Croatian",
    "cs": "Czech",
    "da": "Danish",
    "et": "Estonian",
    "fo": "Faroese",
    "fi": "Finnish",
    "gl": "Galician",
    "ka": "Georgian",
    "el": "Greek",
    "gu": "Gujarati",
    "ht": "Haitian",
    "ha": "Hausa",
    "haw": "Hawaiian",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "is": "Icelandic",
    "id": "Indonesian",
    "ja": "Japanese",
    "jw": "Javanese",
    "kn": "Kannada",
    "kk": "Kazakh",
    "km": "Khmer",
    "ko": "Korean",
    "lo": "Lao",
    "la": "Latin",
    "lv": "Latvian",
    "ln": "Lingala",
    "lt": "Lithuanian",
    "lb": "Luxembourgish",
    "mk": "Macedonian",
    "mg": "Malagasy",
    "ms": "Malay",
    "ml": "Malayalam",
    "mt": "Maltese",
    "mi": "Maori",
    "mr": "Marathi",
    "mn": "Mongolian",
    "ne": "Nepali",
    "no": "Norwegian",
    "nn": "Norwegian Nynorsk",
    "oc": "Occitan",
    "pa": "Panjabi",
    "ps": "Pashto",
    "fa": "Persian",
    "pl": "Polish",
    "ro": "Romanian",
    "ru": "Russian",
    "sa": "Sanskrit",
    "sr": "Serbian",
    "sn": "Shona",
    "sd": "Sindhi",
    "si": "Sinhala",
    "sk": "Slovak",
    "sl": "Slovenian",
    "so": "Somali",
    "su": "Sundanese",
    "sw": "Swahili",
    "sv": "Swedish",
    "tl": "Tagalog",
    "tg": "Tajik",
    "ta": "Tamil",
    "tt": "Tatar",
    "te": "Telugu",
    "th": "Thai",
    "bo": "Tibetan",
    "tr": "Turkish",
    "tk": "Turkmen",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "vi": "Vietnamese",
    "cy": "Welsh",
    "yi": "Yiddish",
    "yo": "Yoruba",
}
LANGUAGE_CODES = tuple(LANGUAGE_NAMES)

#: The spec's ``PiiPolicy`` (44 kinds; entity detection reports the same names).
PII_POLICIES = (
    "account_number", "banking_information", "blood_type", "credit_card_cvv",
    "credit_card_expiration", "credit_card_number", "date", "date_interval", "date_of_birth",
    "drivers_license", "drug", "duration", "email_address", "event", "filename",
    "gender_sexuality", "healthcare_number", "injury", "ip_address", "language", "location",
    "marital_status", "medical_condition", "medical_process", "money_amount", "nationality",
    "number_sequence", "occupation", "organization", "passport_number", "password",
    "person_age", "person_name", "phone_number", "physical_attribute", "political_affiliation",
    "religion", "statistics", "time", "url", "us_social_security_number", "username",
    "vehicle_id", "zodiac_sign",
)  # fmt: skip

#: Today's pre-recorded models, newest first.
SPEECH_MODELS = ("universal-3-5-pro", "universal-3-pro", "universal-2", "universal", "slam-1")
#: Retired models: still accepted (old servers, old scripts) with a ``DeprecationWarning``.
RETIRED_SPEECH_MODELS = ("best", "nano", "conformer-2")
#: What speechkit sends as ``speech_models`` when a config names no model: the HEAD spec requires
#: the field, and the service routes to the first model that supports the audio's language.
DEFAULT_SPEECH_MODELS = ("universal-3-5-pro", "universal-2")

SUBSTITUTION_POLICIES = ("entity_name", "hash")
REDACT_PII_AUDIO_QUALITIES = ("mp3", "wav")
SUMMARY_MODELS = ("informative", "conversational", "catchy")
SUMMARY_TYPES = ("bullets", "bullets_verbose", "gist", "headline", "paragraph")
#: ``word_boost`` strength; dropped from the spec in 2025-10, still accepted by older servers.
BOOST_PARAMS = ("low", "default", "high")
REMOVE_AUDIO_TAGS = ("all",)
#: ``keyterms_prompt_options.keyterms_match_strength`` (``assemblyai`` 1.8.2).
KEYTERMS_MATCH_STRENGTHS = ("high", "standard")
