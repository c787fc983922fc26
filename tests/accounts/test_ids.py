import time

from console.ids import ALPHABET, ID_LENGTH, new_id


def test_ids_have_prefix_and_24_characters():
    value = new_id("wrkspc_")
    assert value.startswith("wrkspc_")
    assert len(value) == len("wrkspc_") + ID_LENGTH == len("wrkspc_") + 24
    assert all(char in ALPHABET for char in value[len("wrkspc_") :])


def test_ids_sort_by_creation_time():
    now = time.time()
    earlier = [new_id("user_", now=now + offset) for offset in (0, 0.002, 1, 3600, 86400 * 400)]
    assert earlier == sorted(earlier)


def test_ids_are_unique():
    assert len({new_id("apikey_") for _ in range(5000)}) == 5000
