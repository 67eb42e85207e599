"""`credcheck run`: the operator (kopf), with the settings from flags and CREDCHECK_* variables."""

import argparse
import json
import logging
import sys
from typing import Any

import kopf

from credcheck import handlers  # registers the operator's handlers with kopf on import
from credcheck.kube import Kube
from credcheck.runtime import Runtime
from credcheck.schedule import Schedule
from credcheck.settings import Settings, from_arguments
from credcheck.supervise import Health


class JSONFormatter(logging.Formatter):
    """One JSON object per line; an exception's traceback goes with it (kopf's handler failures included)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                 "logger": record.name, "message": record.getMessage()}
        obj = getattr(record, "k8s_ref", None)
        if isinstance(obj, dict):
            entry["object"] = f"{obj.get('namespace', '')}/{obj.get('name', '')}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # their debug output can carry request bodies


def run_operator(args: argparse.Namespace) -> int:
    settings = from_arguments(args)
    configure_logging(settings)
    runtime = Runtime.create(settings, Kube())
    if settings.webhook_cert_dir and settings.webhook_mode != "off":
        handlers.webhook.register()
    namespaces = sorted(set(settings.namespaces) | {settings.operator_namespace})
    memo = kopf.Memo(runtime=runtime, schedule=Schedule(), health=Health())
    kopf.run(standalone=True, namespaces=namespaces, memo=memo,
             liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz")
    return 0
