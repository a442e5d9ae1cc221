"""Twilio's enumerations for Elastic SIP trunks, shared by the spec and the trunk provider."""

from typing import Literal

TransferMode = Literal["disable-all", "enable-all", "sip-only"]
TransferCallerId = Literal["from-transferee", "from-transferor"]
RecordingMode = Literal[
    "do-not-record",
    "record-from-ringing",
    "record-from-answer",
    "record-from-ringing-dual",
    "record-from-answer-dual",
]
RecordingTrim = Literal["do-not-trim", "trim-silence"]
