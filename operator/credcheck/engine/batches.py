"""From requirements to the fewest SimulatePrincipalPolicy calls that still ask what KKP's requests ask.

A call carries one principal, a set of resources and one request context, which AWS applies to every action in
it. So requirements share a call only when the context fits all of them: a key the profile sends with an action
(ec2:CreateAction with ec2:CreateTags, iam:PassedToService with iam:PassRole, the tags KKP sets on create) must
carry exactly that value, and a key it never sends with an action may ride along, since no sane policy
conditions that action on it. Plain ec2:CreateTags and tag-on-create ec2:CreateTags therefore never share a call.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from credcheck.engine.model import Context, Requirement

PROBE_NAME = "credcheck-probe"
REGION_KEY = "aws:RequestedRegion"
MAX_RESULTS = 1000  # one page of SimulatePrincipalPolicy
# SimulatePrincipalPolicy calls one check may make (issue 33): a check of 100 Clusters (the CRD's maxItems), each with
# a control-plane role, under two profiles with the recommended actions plans 838; past this the check is not sent
MAX_SIMULATIONS = 1000

RequestKey = tuple[str, str, str, Context]  # principal, action, simulated resource, the request's own context


@dataclass(frozen=True)
class SimulationBatch:
    principal: str  # OPERATING or KEYS
    resources: tuple[str, ...]  # ("*",) or concrete ARNs
    actions: tuple[str, ...]
    context: Context  # sent as ContextEntries, aws:RequestedRegion included
    answers: tuple[RequestKey, ...] = ()  # the requirements this call decides

    @property
    def region(self) -> str | None:
        return next((values[0] for key, values in self.context if key == REGION_KEY and values), None)


def probe_resource(pattern: str) -> str:
    """A concrete ARN that the pattern covers: `role/kubernetes-*` -> `role/kubernetes-credcheck-probe`."""
    if pattern == "*":
        return "*"
    return pattern.replace("*", PROBE_NAME).replace("?", "x")


def request_key(req: Requirement) -> RequestKey:
    return req.principal, req.action, probe_resource(req.resource), req.context


@dataclass
class _Open:
    principal: str
    resources: list[str]
    context: dict[str, tuple[str, ...]]
    actions: dict[str, Context] = field(default_factory=dict)  # action -> the context it was planned with
    answers: list[RequestKey] = field(default_factory=list)

    def fits(self, key: RequestKey, sensitive: dict[str, set[str]]) -> bool:
        principal, action, resource, context = key
        if principal != self.principal or (resource == "*") != (self.resources == ["*"]):
            return False
        if action in self.actions and self.actions[action] != context:
            return False
        if len(set(self.actions) | {action}) * len(set(self.resources) | {resource}) > MAX_RESULTS:
            return False
        own = dict(context)
        for name in set(own) | set(self.context):
            if name in own and name in self.context:
                if own[name] != self.context[name]:
                    return False
            elif name in self.context:
                if name in sensitive[action]:
                    return False  # KKP's request for this action lacks the key: sending it could allow wrongly
            elif any(name in sensitive[a] for a in self.actions):
                return False
        return True

    def add(self, key: RequestKey) -> None:
        _, action, resource, context = key
        self.actions.setdefault(action, context)
        if resource not in self.resources:
            self.resources.append(resource)
        self.context.update(dict(context))
        self.answers.append(key)


def _is_request_tag(key: str) -> bool:
    return key.lower().startswith(("aws:requesttag/", "ec2:requesttag/")) or key.lower() == "aws:tagkeys"


def plan(requirements: Sequence[Requirement]) -> tuple[SimulationBatch, ...]:
    """The batches that decide every requirement; requirements credcheck proves by calling are left out."""
    sensitive: dict[str, set[str]] = defaultdict(set)
    tags = {k for r in requirements for k, _ in r.context if _is_request_tag(k)}
    for req in requirements:
        sensitive[req.action].update(k for k, _ in req.context if k != REGION_KEY)
        if req.untagged:  # the request carries no tags: the tags of a create must not ride along
            sensitive[req.action].update(tags)
    keys = sorted({request_key(r) for r in requirements if not r.proven_by_call},
                  key=lambda k: (k[0], k[2] != "*", -len(k[3]), k[1], k[2], k[3]))
    batches: list[_Open] = []
    for key in keys:
        batch = next((b for b in batches if b.fits(key, sensitive)), None)
        if batch is None:
            batch = _Open(key[0], [key[2]], {})
            batches.append(batch)
        batch.add(key)
    return tuple(SimulationBatch(b.principal, tuple(b.resources), tuple(b.actions),
                                 tuple(sorted(b.context.items())), tuple(b.answers)) for b in batches)
