"""The `{d2l-runs}` directive's `:pages:` option (the book's extension in _ext/d2l_runs.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / '_ext'))
from d2l_runs import D2LDataError, parse_pages  # noqa: E402


def test_entries_name_a_page_an_optional_tag_and_a_label():
    entries = parse_pages('rnn-scratch=from scratch, lstm:results-concise=LSTM\n'
                          'gru : results-scratch = GRU from scratch', default_tag='results-run')
    assert entries == [('rnn-scratch', 'results-run', 'from scratch'),
                       ('lstm', 'results-concise', 'LSTM'),
                       ('gru', 'results-scratch', 'GRU from scratch')]
    assert parse_pages('a=b') == [('a', None, 'b')]


@pytest.mark.parametrize('text, message', [
    ('', 'names no page'),
    ('rnn-scratch', 'docname=label'),
    ('=label', 'docname=label'),
    ('lstm:results-scratch=LSTM, gru:results-scratch=LSTM', 'the same label'),
])
def test_bad_entries_say_what_is_wanted(text, message):
    with pytest.raises(D2LDataError, match=message):
        parse_pages(text)
