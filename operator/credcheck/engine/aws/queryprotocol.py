"""botocore's query protocol (IAM, STS) at less CPU per call: the same requests and the same parsed answers.

bench/check.py prints where a check's CPU goes; three of botocore's steps were redone per call for nothing:

- Parsing. botocore's QueryParser walks the output shape anew for every answer: per XML element it looks its handler
  up by name, strips the namespace from the tag with a regular expression and reads the member's serialisation
  traits; a check's SimulatePrincipalPolicy answers hold thousands of elements. PlannedQueryParser is botocore's own
  class (same XML parser, same error and metadata handling, same scalar handlers) that plans once per output shape
  which handler each member gets under which XML name, and remembers each tag without its namespace. Shapes it does
  not plan (exceptions, tagged unions, XML attributes, documents, recursive shapes) take botocore's walk. Installed
  with botocore's own hook for it, the session's `response_parser_factory` component.
- Policy documents. botocore's after-call handler json_decode_policies walks every IAM answer through its shape to
  find policy documents; decode_policies runs it only for outputs that hold one (GetRole yes, SimulatePrincipalPolicy
  never).
- The body. botocore keeps a query request's body as a dict and URL-encodes it each time the request is prepared:
  once to sign it (its SHA-256) and once to send it. encode_body_once encodes it before signing, as botocore does.

tests/unit/engine/aws/test_queryprotocol.py compares each with botocore's own step on IAM and STS answers.
"""

import threading
import weakref
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSRequestPreparer
from botocore.handlers import json_decode_policies
from botocore.model import Shape
from botocore.parsers import QueryParser, ResponseParserFactory

# (the parser, an XML element or a list of them) -> the parsed value. The parser is Any here and below: botocore-stubs
# leave out the parsers' underscored methods, which this module reuses (and overrides) as botocore's subclasses do.
Plan = Callable[[Any, Any], Any]
_BOTOCORE: Any = QueryParser
SCALARS = frozenset({"string", "character", "boolean", "integer", "long", "float", "double", "timestamp", "blob"})
MAX_TAGS = 4096
_TAGS: dict[str, str] = {}
_PLANS: "weakref.WeakKeyDictionary[Shape, Plan]" = weakref.WeakKeyDictionary()  # output shape -> its plan
_LOCK = threading.Lock()  # an element's tag -> the tag without its namespace (as botocore's _node_tag strips it)


def _text(node: Any) -> Any:
    """botocore's _text_content: an element's text ('' when empty), anything else as it is."""
    if hasattr(node, "text"):
        text = node.text
        return "" if text is None else text
    return node


def _scalar(type_name: str) -> Plan:
    if type_name in ("string", "character"):
        return lambda _parser, node: _text(node)
    if type_name == "boolean":
        return lambda _parser, node: _text(node) == "true"
    if type_name in ("integer", "long"):
        return lambda _parser, node: int(_text(node))
    if type_name in ("float", "double"):
        return lambda _parser, node: float(_text(node))
    if type_name == "timestamp":
        return lambda parser, node: parser._timestamp_parser(_text(node))
    return lambda parser, node: parser._blob_parser(_text(node))


def _generic(shape: Shape) -> Plan:
    """botocore's own walk of `shape`. Held by a weak reference: the shape's parent keeps it (botocore caches a
    shape's members), and a plan must not keep alive the output shape it is keyed by."""
    ref = weakref.ref(shape)
    return lambda parser, node: _BOTOCORE._parse_shape(parser, ref(), node)


def _plan(shape: Shape, seen: frozenset[str] = frozenset()) -> Plan:
    """How botocore's BaseXMLResponseParser would parse `shape`, decided once."""
    serialization, metadata = shape.serialization, shape.metadata
    if shape.name in seen or metadata.get("document") or metadata.get("union"):
        return _generic(shape)
    if shape.type_name in SCALARS:
        return _scalar(shape.type_name)
    inner = seen | {shape.name}
    if shape.type_name == "list":
        member = _plan(shape.member, inner)  # type: ignore[attr-defined]
        flattened = bool(serialization.get("flattened"))

        def parse_list(parser: Any, node: Any) -> list[Any]:
            if flattened and not isinstance(node, list):
                node = [node]
            return [None if item is None else member(parser, item) for item in node]
        return parse_list
    if shape.type_name == "structure" and not metadata.get("exception"):
        members: list[tuple[str, str, Plan]] = []
        for name, member_shape in shape.members.items():  # type: ignore[attr-defined]
            traits = member_shape.serialization
            if traits.get("xmlAttribute"):
                return _generic(shape)
            if traits.get("location") in QueryParser.KNOWN_LOCATIONS or traits.get("eventheader"):
                continue  # botocore parses these from headers, never from the body
            members.append((name, _xml_name(member_shape, name), _plan(member_shape, inner)))

        def parse_structure(parser: Any, node: Any) -> dict[str, Any]:
            found = _by_tag(parser, node)
            parsed = {}
            for name, xml_name, plan in members:
                member_node = found.get(xml_name)
                if member_node is not None:
                    parsed[name] = plan(parser, member_node)
            return parsed
        return parse_structure
    return _generic(shape)


def _by_tag(parser: Any, node: Any) -> dict[str, Any]:
    """botocore's _build_name_to_xml_node: children by tag, a repeated tag's elements in a list."""
    while isinstance(node, list):
        node = node[0]
    found: dict[str, Any] = {}
    for item in node:
        key = _TAGS.get(item.tag) or parser._node_tag(item)
        seen = found.get(key)
        if seen is None:
            found[key] = item
        elif isinstance(seen, list):
            seen.append(item)
        else:
            found[key] = [seen, item]
    return found


def _xml_name(shape: Shape, member_name: str) -> str:
    """botocore's _member_key_name."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        listed = shape.member.serialization.get("name")  # type: ignore[attr-defined]
        if listed is not None:
            return str(listed)
    return str(shape.serialization.get("name") or member_name)


def _plannable(shape: Shape) -> bool:
    """An output shape planned as a whole (botocore's walk for the rest: errors, event streams)."""
    return (shape.type_name == "structure" and not shape.serialization.get("eventstream")
            and not any(shape.metadata.get(k) for k in ("exception", "document", "union")))


class PlannedQueryParser(QueryParser):
    """botocore's QueryParser; the output shapes it has seen are parsed by their plans."""

    def _node_tag(self, node: Any) -> str:
        tag = node.tag
        found = _TAGS.get(tag)
        if found is None:
            found = _BOTOCORE._node_tag(self, node)
            if len(_TAGS) < MAX_TAGS:  # AWS's element names are a few hundred; an odd endpoint cannot grow it
                _TAGS[tag] = found
        return found

    def _parse_body_as_xml(self, response: Any, shape: Shape | None,
                           inject_metadata: bool = True) -> Any:
        me: Any = self
        if shape is None or not _plannable(shape):
            return _BOTOCORE._parse_body_as_xml(me, response, shape, inject_metadata)
        root = me._parse_xml_string_to_dom(response["body"])
        start = root
        if "resultWrapper" in shape.serialization:
            start = me._find_result_wrapped_shape(shape.serialization["resultWrapper"], root)
        parsed = self._plan_of(shape)(self, start)
        if inject_metadata:
            me._inject_response_metadata(root, parsed)
        return parsed

    @staticmethod
    def _plan_of(shape: Shape) -> Plan:
        # keyed by the output shape, which the client's operation model keeps for the client's life; a plan holds
        # no strong reference to the shape it is keyed by, so a client's plans go with the client
        plan = _PLANS.get(shape)
        if plan is None:
            plan = _plan(shape)
            with _LOCK:
                _PLANS[shape] = plan
        return plan


class PlannedParserFactory(ResponseParserFactory):
    """botocore's parser factory, with the planned parser for the query protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "query":
            return PlannedQueryParser(**vars(self)["_defaults"])  # set_parser_defaults' (botocore-stubs lack it)
        return super().create_parser(protocol_name)


POLICY_DOCUMENT = "policyDocumentType"  # IAM's shape of URL-encoded JSON policies (botocore.handlers)
_PREPARER: Any = AWSRequestPreparer()  # its _prepare_body (botocore-stubs lack it)
_POLICIES: "weakref.WeakKeyDictionary[Shape, bool]" = weakref.WeakKeyDictionary()


def holds_policies(shape: Shape, seen: frozenset[str] = frozenset()) -> bool:
    """Whether botocore's json_decode_policies would find a policy document in `shape`'s members (it follows
    structures and lists, as here)."""
    if shape.name in seen:
        return False
    if shape.type_name == "list":
        return holds_policies(shape.member, seen | {shape.name})  # type: ignore[attr-defined]
    if shape.type_name != "structure":
        return False
    return any((member.type_name == "string" and member.name == POLICY_DOCUMENT)
               or holds_policies(member, seen | {shape.name})
               for member in shape.members.values())  # type: ignore[attr-defined]


def decode_policies(parsed: Any, model: Any, **kwargs: Any) -> None:
    """botocore's after-call handler json_decode_policies (an IAM answer's policy documents as dicts), run only for
    the operations whose output holds one: the handler walks every answer through its shape, and a
    SimulatePrincipalPolicy answer (hundreds of results, no policy document) was a walk of thousands of calls."""
    shape = model.output_shape
    if shape is None:
        return
    holds = _POLICIES.get(shape)
    if holds is None:
        holds = _POLICIES[shape] = holds_policies(shape)
    if holds:
        json_decode_policies(parsed=parsed, model=model, **kwargs)


def encode_body_once(request: Any, **_: Any) -> None:
    """before-sign: a query request's body URL-encoded now, exactly as botocore's AWSRequestPreparer would each time
    the request is prepared (signing reads it, sending reads it again)."""
    if isinstance(request.data, dict):
        request.data = _PREPARER._prepare_body(request)


def install(client: Any) -> None:
    """A client of IAM or STS: the body encoded once, policy documents decoded only where the output holds one
    (the parser comes from the session: PlannedParserFactory)."""
    if client.meta.service_model.protocol != "query":
        return
    client.meta.events.register("before-sign", encode_body_once)
    if client.meta.service_model.service_id.hyphenize() == "iam":  # botocore registers it for IAM only
        client.meta.events.unregister("after-call.iam", json_decode_policies)  # this client's copy of the hooks
        client.meta.events.register("after-call.iam", decode_policies)
