"""What changed in a cart since the store last saved it and since its JSON was last written:
the cart's methods say which lines changed; the store writes those lines' rows only, and the
JSON writer writes those lines anew (a scan's cost stays per line scanned, not per line held)."""

from __future__ import annotations


class CartChanges:
    """Kept with the cart in process; not part of its value (any two are equal)."""

    __slots__ = ("around_lines", "document", "line_json", "saved_lines", "unsaved")

    def __init__(self) -> None:
        # The lines to write at the next save; None: every line (a new cart, or one read from a
        # whole document: a kept answer, or a cart stored before lines had rows of their own).
        self.unsaved: set[int] | None = None
        self.saved_lines: list[int] = []  # what the last save wrote
        # Each line's JSON in line order, None where it is to be written anew; written whole
        # when it is not in step with the lines (a cart just read).
        self.line_json: list[str | None] = []
        self.document: str | None = None  # the whole cart's JSON
        # ... its fields before the lines and after them (totals included)
        self.around_lines: tuple[str, str] | None = None

    def line_added(self, line_no: int) -> None:
        if self.unsaved is not None:
            self.unsaved.add(line_no)
        if len(self.line_json) == line_no - 1:
            self.line_json.append(None)

    def line_changed(self, line_no: int) -> None:
        if self.unsaved is not None:
            self.unsaved.add(line_no)
        if line_no <= len(self.line_json):
            self.line_json[line_no - 1] = None

    def cart_changed(self) -> None:
        self.document = self.around_lines = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CartChanges)

    def __hash__(self) -> int:
        return 0  # equal to any other
