"""Diversity and balance metrics on hand-made inputs."""

from marco.data.metrics import compression_ratio, distinct_n, diversity, group_breakdown, length_stats, top_openings


def test_distinct_n_counts_unique_ngrams_over_all_ngrams():
    assert distinct_n(["a b c d"], 1) == 1.0
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["a b a b"], 2) == 2 / 3  # ab, ba, ab
    assert distinct_n(["a b", "a b"], 2) == 0.5
    assert distinct_n(["a"], 2) == 0.0  # no bigram at all


def test_compression_ratio_rises_with_repetition():
    varied = [f"frase numero {i} con parole {i * 7} diverse {i * 13}" for i in range(200)]
    repeated = ["great question this translates to something"] * 200
    assert compression_ratio(repeated) > 3 * compression_ratio(varied)


def test_top_opening_share_and_diversity_report():
    replies = ["Great question! Yes.", "Great question! No.", "Certo che sì, davvero.", "Dipende dal contesto."]
    normalized = ["great question yes", "great question no", "certo che si davvero", "dipende dal contesto"]
    figures = diversity(replies, normalized, opening_words=2)
    assert figures["top_opening"] == "great question" and figures["top_opening_share"] == 0.5
    assert top_openings(normalized, 2)[0] == ("great question", 2)


def test_length_stats_histogram_covers_every_value():
    stats = length_stats([1, 2, 2, 3, 10], "words")
    assert stats["p50"] == 2 and stats["p100"] == 10 and stats["mean"] == 3.6
    assert sum(stats["histogram"]["counts"]) == 5


def test_group_breakdown_puts_the_most_duplicated_group_first():
    values = ["MAS"] * 62 + ["CPF"] * 3
    reasons = [None] + ["exact_duplicate"] * 61 + [None, "near_duplicate", "invalid_json"]
    rows = group_breakdown(values, reasons)
    assert rows[0] == {"value": "MAS", "records": 62, "kept": 1, "exact_duplicate": 61, "near_duplicate": 0,
                       "template": 0, "invalid": 0, "duplicate_share": round(61 / 62, 4)}
    assert rows[1]["invalid"] == 1 and rows[1]["near_duplicate"] == 1
