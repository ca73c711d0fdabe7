"""Sanctions.reconcile: the stored mutes and bans win over a node's memory, but a
sanction applied here is only lifted once it has stayed unstored for a whole interval."""

from safestream.chat.sanctions import Sanctions


def clock_at(now: float) -> Sanctions:
    return Sanctions(clock=lambda: now)


def test_stored_mutes_and_bans_apply_and_replace_what_is_held_here() -> None:
    sanctions = clock_at(1000.0)
    sanctions.mute_until("ann", 1100.0)
    changed = sanctions.reconcile({"ann": 1500.0, "bob": 1200.0}, {"cy": 9000.0})
    assert changed == 3
    assert sanctions.muted_for("ann") == 500.0  # extended on another node
    assert sanctions.muted_for("bob") == 200.0  # muted on a node whose broadcast was lost
    assert sanctions.banned("cy")
    assert sanctions.reconcile({"ann": 1500.0, "bob": 1200.0}, {"cy": 9000.0}) == 0


def test_a_sanction_not_stored_is_lifted_at_the_second_reconcile_not_the_first() -> None:
    sanctions = clock_at(1000.0)
    sanctions.mute_until("ann", 1300.0)  # its unmute's broadcast was lost
    sanctions.ban("bob", 5000.0)  # its unban's broadcast was lost
    assert sanctions.reconcile({}, {}) == 0  # could be a policy timeout not yet stored
    assert sanctions.muted_for("ann") == 300.0 and sanctions.banned("bob")
    assert sanctions.reconcile({}, {}) == 2
    assert sanctions.muted_for("ann") == 0.0 and not sanctions.banned("bob")


def test_a_policy_timeout_stored_between_two_reconciles_stays() -> None:
    sanctions = clock_at(1000.0)
    until = sanctions.mute("ann", 60.0)  # applied here first, stored a moment later
    sanctions.reconcile({}, {})
    sanctions.reconcile({"ann": until}, {})
    sanctions.reconcile({"ann": until}, {})
    assert sanctions.muted_for("ann") == 60.0


def test_a_sanction_changed_here_since_the_last_reconcile_is_not_lifted() -> None:
    sanctions = clock_at(1000.0)
    sanctions.mute_until("ann", 1100.0)
    sanctions.reconcile({}, {})
    sanctions.mute_until("ann", 1200.0)  # a new timeout, not stored yet
    sanctions.reconcile({}, {})
    assert sanctions.muted_for("ann") == 200.0
    sanctions.reconcile({}, {})  # still not stored a whole interval later: lifted
    assert sanctions.muted_for("ann") == 0.0


def test_a_timeout_whose_store_failed_runs_its_length_until_it_is_stored() -> None:
    now = 1000.0
    sanctions = Sanctions(clock=lambda: now)
    until = sanctions.mute("ann", 300)
    sanctions.not_stored("ann")  # the room's write of the policy timeout failed
    assert sanctions.unstored_mutes() == {"ann": until}
    for _ in range(3):  # the database does not have it: kept, not lifted
        assert sanctions.reconcile({}, {}) == 0
    assert sanctions.muted_for("ann") == 300
    sanctions.stored("ann", until)  # written at last (by the sanctions sync)
    assert sanctions.unstored_mutes() == {}
    sanctions.reconcile({"ann": until}, {})
    assert sanctions.muted_for("ann") == 300


def test_an_unstored_timeout_gives_way_to_an_unmute_a_stored_mute_or_its_end() -> None:
    now = 1000.0
    sanctions = Sanctions(clock=lambda: now)
    for user in ("ann", "bob", "cy"):
        sanctions.mute(user, 300)
        sanctions.not_stored(user)
    sanctions.unmute("ann")  # a moderator lifted it
    sanctions.mute("dee", 300)
    sanctions.not_stored("dee")
    sanctions.mute_until("dee", 9000.0)  # a moderator's longer mute, stored elsewhere
    assert set(sanctions.unstored_mutes()) == {"bob", "cy"}  # dee's is not written over it
    stored = {"bob": 5000.0, "dee": 9000.0}
    sanctions.reconcile(stored, {})  # another mute was stored since: it wins
    assert sanctions.unstored_mutes() == {"cy": 1300.0}  # never dee's older one again
    assert (sanctions.muted_for("ann"), sanctions.muted_for("bob")) == (0.0, 4000.0)
    now = 1300.0  # cy's timeout ran out
    assert sanctions.reconcile(stored, {}) == 0 and sanctions.unstored_mutes() == {}
