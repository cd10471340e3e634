"""Loading the botocore service models that define the API contract."""

from __future__ import annotations

import re

from botocore.loaders import Loader
from botocore.model import ServiceModel

CHIME_SDK_MEETINGS = ("chime-sdk-meetings", "2021-07-15")
TRANSCRIBE = ("transcribe", "2017-10-26")


def load_service_model(name: str, api_version: str) -> ServiceModel:
    """Load a service model exactly as boto3 would, so the server and the SDKs share one contract."""
    loader = Loader()
    data = loader.load_service_model(name, "service-2", api_version)
    return ServiceModel(data, service_name=name)


def shape_pattern(model: ServiceModel, shape: str) -> re.Pattern[str]:
    """A string shape's modeled pattern, compiled: the model, not a copy of it, says what a GuidString is."""
    return re.compile(model.shape_for(shape).metadata["pattern"])
