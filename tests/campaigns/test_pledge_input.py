"""The pledge request's plain input check says what the serializer says, or leaves it to it."""

from django.conf import settings
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from campaigns.apis import PledgeCreateInputSerializer, pledge_input_plain

FIELDS = ["campaign", "amount", "tier", "is_anonymous", "public_message", "payment_method"]

_ints = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=1, max_value=2**64),
    st.sampled_from([settings.MAX_PAYMENT_AMOUNT, settings.MAX_PAYMENT_AMOUNT + 1, 2**63 - 1]),
)
_texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["", "   ", " Bravo ", "a\x00b", "\ud800", "é" * 500, " " + "x" * 500, "x" * 501]
    ),
)
_values = st.one_of(
    _ints, st.booleans(), st.none(), _texts, st.floats(), st.lists(_ints, max_size=2)
)


def _serializer(data):
    serializer = PledgeCreateInputSerializer(data=data)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@hypothesis_settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.dictionaries(st.sampled_from([*FIELDS, "extra"]), _values, max_size=7),
        st.fixed_dictionaries(
            {"campaign": _ints, "amount": _ints},
            optional={
                "tier": st.one_of(st.none(), _ints),
                "is_anonymous": st.booleans(),
                "public_message": _texts,
                "payment_method": st.one_of(st.none(), _ints),
            },
        ),
        st.lists(_values, max_size=2),
        _values,
    )
)
@example({"campaign": 1, "amount": 500, "payment_method": 7})
@example({"campaign": 1, "amount": 500, "public_message": "  Allez les Ateliers ! é  "})
def test_the_plain_check_agrees_with_the_serializer_or_defers_to_it(data):
    plain = pledge_input_plain(data)
    if plain is not None:
        assert plain == _serializer(data)


def test_the_plain_check_takes_every_ordinary_pledge():
    ordinary = [
        {"campaign": 3, "amount": 2_500, "payment_method": 9},
        {"campaign": 3, "amount": 2_500, "payment_method": None, "tier": 4},
        {"campaign": 3, "amount": 1, "is_anonymous": True, "public_message": " Bravo, é ! "},
        {"campaign": 3, "amount": settings.MAX_PAYMENT_AMOUNT, "public_message": "x" * 500},
    ]
    for data in ordinary:
        plain = pledge_input_plain(data)
        assert plain is not None, data
        assert plain == _serializer(data)


def test_the_plain_check_leaves_every_bad_input_to_the_serializer():
    bad = [
        {"amount": 2_500},
        {"campaign": "3", "amount": 2_500},
        {"campaign": 3, "amount": 0},
        {"campaign": 3, "amount": -5},
        {"campaign": 3, "amount": settings.MAX_PAYMENT_AMOUNT + 1},
        {"campaign": 3, "amount": 25.0},
        {"campaign": True, "amount": 2_500},
        {"campaign": 3, "amount": 2_500, "currency": "USD"},
        {"campaign": 3, "amount": 2_500, "public_message": "x" * 501},
        {"campaign": 3, "amount": 2_500, "public_message": "a\x00b"},
        {"campaign": 3, "amount": 2_500, "is_anonymous": "yes"},
        [{"campaign": 3, "amount": 2_500}],
    ]
    for data in bad:
        assert pledge_input_plain(data) is None, data
        assert _serializer(data) is None, data
