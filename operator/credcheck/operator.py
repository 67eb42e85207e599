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


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                 "logger": record.name, "message": record.getMessage()}
        obj = getattr(record, "k8s_ref", None)
        if isinstance(obj, dict):
            entry["object"] = f"{obj.get('namespace', '')}/{obj.get('name', '')}"
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
    kopf.run(standalone=True, namespaces=namespaces, memo=kopf.Memo(runtime=runtime, schedule=Schedule()),
             liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz")
    return 0
