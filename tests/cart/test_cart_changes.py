"""Which lines a save writes and which line JSON is written anew."""

from __future__ import annotations

from services.cart.cart_changes import CartChanges


def test_a_new_cart_saves_every_line_then_only_changed_ones() -> None:
    changes = CartChanges()
    changes.line_added(1)
    assert changes.unsaved is None  # every line: never saved
    changes.unsaved = set()  # saved
    changes.line_json = ["{1}", "{2}"]
    changes.line_changed(2)
    changes.line_added(3)
    assert changes.unsaved == {2, 3}
    assert changes.line_json == ["{1}", None, None]


def test_a_change_drops_the_kept_document() -> None:
    changes = CartChanges()
    changes.document, changes.around_lines = "{}", ("a", "b")
    changes.cart_changed()
    assert (changes.document, changes.around_lines) == (None, None)


def test_changes_are_no_part_of_a_carts_value() -> None:
    one, other = CartChanges(), CartChanges()
    other.unsaved = {1}
    assert one == other
    assert hash(one) == hash(other)
