"""What a profile from a ConfigMap (anyone's text) may ask (pure): the credential's own permissions, anything; a
Cluster's control-plane role, only the actions KKP's cloud-controller-manager calls as that role (the built-in
profiles' `principal: controlPlaneRole` statements), so that a profile cannot turn the simulation of a role into
a question about anything else that role may do (issue 33)."""

from functools import cache

from credcheck.engine.model import CONTROL_PLANE_ROLE
from credcheck.engine.requirements.profiles import BUILTIN, Profile, load_profile


@cache
def role_actions() -> frozenset[str]:
    """Every action a built-in profile asks of the control-plane role (lower-cased: IAM's names are)."""
    return frozenset(action.lower() for name in BUILTIN for st in load_profile(name).statements
                     if st.principal == CONTROL_PLANE_ROLE for action in st.actions)


def role_problems(profile: Profile) -> list[str]:
    """Statements that ask the control-plane role about an action KKP's CCM does not call as it (places only)."""
    allowed = role_actions()
    return [f"statements[{i}]: principal {CONTROL_PLANE_ROLE} may only ask about the actions KKP's "
            "cloud-controller-manager calls as that role (those of the built-in profiles)"
            for i, st in enumerate(profile.statements)
            if st.principal == CONTROL_PLANE_ROLE and any(a.lower() not in allowed for a in st.actions)]
