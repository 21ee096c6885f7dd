from slotwise.bandits import features


def test_one_hot_with_bias():
    f = features({"is_new": False, "device": "Mobile", "top_category": "Dog Food!", "has_cart": True,
                  "visit_count": 5, "source": "newsletter"})
    assert f == {"bias": 1.0, "visitor=returning": 1.0, "device=mobile": 1.0, "category=dog-food": 1.0,
                 "cart=yes": 1.0, "visits=4-9": 1.0, "source=other": 1.0}


def test_missing_values_are_explicit_levels():
    f = features({})
    assert set(f) == {"bias", "visitor=unknown", "device=unknown", "category=none", "cart=unknown",
                      "visits=unknown", "source=unknown"}
    assert features({"visit_count": 12})["visits=10+"] == 1.0
