"""Identity checks that roster imports and forms rely on: GB 11643 ID numbers and mainland mobiles."""

import datetime as dt

import pytest

from people.validators import (
    check_char,
    id_number_birth_date,
    id_number_check,
    id_number_gender,
    id_number_normalise,
    make_id_number,
    phone_check,
    phone_normalise,
)

# Checked by hand with the MOD 11-2 weights: the standard's own example (check character X) and a
# Guangdong number (sum 202, 202 mod 11 = 4 → check character 8).
HAND_CHECKED_VALID = ["11010519491231002X", "440524199001010018"]


@pytest.mark.parametrize("value", HAND_CHECKED_VALID)
def test_hand_checked_numbers_are_valid(value):
    assert id_number_check(value) is None


def test_hand_checked_fields():
    assert id_number_birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert id_number_gender("11010519491231002X") == "F"
    assert id_number_gender("440524199001010018") == "M"


@pytest.mark.parametrize("gender", ["M", "F"])
def test_made_numbers_round_trip(gender):
    for birth in (dt.date(2015, 2, 28), dt.date(2012, 2, 29), dt.date(1958, 10, 1)):
        for seq in (0, 7, 123, 499):
            number = make_id_number("330110", birth, seq, gender)
            assert len(number) == 18 and number.startswith("330110")
            assert id_number_check(number) is None
            assert id_number_birth_date(number) == birth
            assert id_number_gender(number) == gender


def test_made_numbers_are_distinct_per_seq_and_gender():
    birth = dt.date(2016, 5, 4)
    numbers = {make_id_number("341221", birth, seq, g) for seq in range(500) for g in "MF"}
    assert len(numbers) == 1000


def test_make_id_number_rejects_bad_arguments():
    with pytest.raises(ValueError):
        make_id_number("33011", dt.date(2015, 1, 1), 1, "M")
    with pytest.raises(ValueError):
        make_id_number("330110", dt.date(2015, 1, 1), 500, "M")
    with pytest.raises(ValueError):
        make_id_number("330110", dt.date(2015, 1, 1), 1, "X")


def test_every_wrong_check_character_is_caught():
    good = make_id_number("330110", dt.date(2014, 7, 9), 42, "F")
    for ch in "0123456789X":
        if ch != good[-1]:
            assert id_number_check(good[:-1] + ch) == "身份证号校验位不正确，请核对最后一位。"


def test_a_single_mistyped_digit_is_caught():
    good = make_id_number("330110", dt.date(2014, 7, 9), 42, "F")
    for pos in range(17):
        digit = str((int(good[pos]) + 1) % 10)
        bad = good[:pos] + digit + good[pos + 1:]
        assert id_number_check(bad) is not None, pos


def test_swapped_neighbours_are_caught():
    good = make_id_number("330110", dt.date(2014, 7, 9), 42, "F")
    for pos in range(16):
        if good[pos] != good[pos + 1]:
            swapped = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2:]
            assert id_number_check(swapped) is not None, pos


def _with_check(first17):
    return first17 + check_char(first17)


@pytest.mark.parametrize(
    "first17, words",
    [
        ("33011020150230001", "不是有效日期"),  # 30 February
        ("33011020151301001", "不是有效日期"),  # month 13
        ("44052418800101001", "早于1900年"),
        ("33011020991231001", "晚于今天"),
        ("99011020150101001", "省份代码"),
    ],
)
def test_bad_dates_and_regions_are_explained(first17, words):
    message = id_number_check(_with_check(first17))
    assert message is not None and words in message


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "请填写"),
        (None, "请填写"),
        ("11010519491231002", "18位，当前为17位"),
        ("11010519491231002X1", "18位，当前为19位"),
        ("1101051949123100AX", "前17位"),
        ("11010519491231002Y", "最后一位"),
    ],
)
def test_malformed_numbers_are_explained(value, words):
    message = id_number_check(value)
    assert message is not None and words in message


def test_full_width_digits_spaces_and_lower_case_x_are_normalised():
    messy = " １１０１０５ １９４９１２３１ ００２ｘ "
    assert id_number_normalise(messy) == "11010519491231002X"
    assert id_number_check(messy) is None
    assert id_number_check("11010519491231002x") is None
    assert id_number_birth_date(messy) == dt.date(1949, 12, 31)


def test_hand_checked_number_born_before_1900_is_refused_for_its_date():
    # 440524188001010014 has a correct check digit (sum 195, 195 mod 11 = 8 → "4"); only the year is wrong.
    assert "早于1900年" in id_number_check("440524188001010014")


def test_future_birth_relative_to_given_day():
    number = make_id_number("330110", dt.date(2026, 3, 1), 1, "M")
    assert id_number_check(number, today=dt.date(2026, 3, 1)) is None
    assert "晚于今天" in id_number_check(number, today=dt.date(2026, 2, 28))


@pytest.mark.parametrize("value", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "１３８１２３４５６７８", 13812345678.0, "19912345678"])
def test_valid_phones(value):
    assert phone_check(value) is None
    assert phone_normalise(value) in {"13812345678", "19912345678"}


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "请填写"),
        (None, "请填写"),
        ("1381234567", "11位，当前为10位"),
        ("138123456789", "11位，当前为12位"),
        ("12812345678", "13–19开头"),
        ("23812345678", "13–19开头"),
        ("138abc45678", "只能包含数字"),
    ],
)
def test_bad_phones_are_explained(value, words):
    message = phone_check(value)
    assert message is not None and words in message
