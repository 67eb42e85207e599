"""The instance profiles a Cluster names (iam:GetInstanceProfile, which KKP calls itself): the role inside one is
what RunInstances passes, and its ownership tag says whether KKP manages the worker role."""

from collections.abc import Sequence
from dataclasses import replace

from credcheck.engine.aws import ownership
from credcheck.engine.aws.errors import describe, error_code
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.target import Target


def profiles_to_read(targets: Sequence[Target]) -> set[str]:
    """The instance profiles still to read (each one a call)."""
    return {t.instance_profile for t in targets if t.instance_profile and t.instance_profile_role is None
            and t.instance_profile_unread is None}


def read_instance_profiles(targets: Sequence[Target], session: AWSSession) -> tuple[Target, ...]:
    """Each instance profile a Cluster names, read once with the identity KKP acts as. A profile that does not exist
    yet is created by KKP with its own worker role; one that can't be read leaves the PassRole question undecided,
    naming why."""
    read: dict[str, tuple[str | None, list[dict[str, str]] | None, str | None]] = {}
    for name in sorted(profiles_to_read(targets)):
        try:
            profile = session.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
            roles = profile.get("Roles") or []
            read[name] = (str(roles[0]["Arn"]) if roles else None, list(profile.get("Tags") or []), None)
        except Exception as err:
            if error_code(err) == "NoSuchEntity":
                read[name] = (None, None, None)  # KKP creates it (instance_profile.go:113-118), with its worker role
            else:
                failure = describe(err, "iam:GetInstanceProfile")
                read[name] = (None, None, f"iam:GetInstanceProfile failed ({failure.reason})")
    out = []
    for t in targets:
        if t.instance_profile not in read:
            out.append(t)
            continue
        role, tags, why = read[t.instance_profile]
        if why is not None:
            out.append(replace(t, instance_profile_unread=why))
        elif tags is None:
            out.append(replace(t, instance_profile_owned=True))
        else:
            owned = ownership.owns(tags, t.cluster or "")  # KKP's hasIAMTag: the key with an empty value
            unread = None if role else f"instance profile {t.instance_profile} holds no role yet"
            out.append(replace(t, instance_profile_role=role, instance_profile_owned=owned,
                               instance_profile_unread=unread))
    return tuple(out)
