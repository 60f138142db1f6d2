"""jieba's default cut of one block, computed as jieba computes it, in less than half the time.

jieba (0.42, default mode, HMM on) cuts a block (``segmentation``) in three steps, all in
Python: the DAG of the dictionary words that start at each character (a loop of slices and
dictionary look-ups per character), the most probable route through it (right to left,
``log(freq) - log(total)`` summed), and the HMM (``jieba.finalseg``) on each run of
characters the route leaves single and the dictionary does not know. :class:`Cutter` takes
the same dictionary, the same HMM and the same arithmetic, and does the two costly steps
differently:

- the words of the dictionary are found by one Aho-Corasick automaton (pyahocorasick, over
  the UTF-16 code units of the text, two bytes a character: blocks hold only characters of
  the Basic Multilingual Plane), with each word's log probability computed once;
- the route is computed while the matches are read back from the last, and the Viterbi
  pass of the HMM is written out for its four states, with back pointers instead of copied
  paths.

Each sum is the one jieba forms, in its order, and ties go where Python's ``max`` over
jieba's tuples sends them, so the tokens are jieba's, token for token
(``tests/test_cutter.py`` compares them with ``jieba.lcut`` on the People's Daily corpus and
on generated text). On that corpus the cut takes 0.3-0.45 of jieba's time
(``bench/monitoring_bench.py`` prints both rates). The cutter costs about 46 MB a
process (measured), beside jieba's own 62 MB.

The cutter reads jieba's dictionary once, when first used (``monitoring.warmup`` builds it
as a worker starts). Fenghuo does not change jieba's dictionary; code that does
(``jieba.add_word``, ``jieba.load_userdict``) calls ``cutter.cache_clear()`` after it.
"""

from __future__ import annotations

import array
import functools
import math

import ahocorasick
import jieba
from jieba import finalseg

# A value in the automaton: the word's index in the log probabilities, shifted, and its
# length in bytes (at most 2 * 32 here; 7 bits allow 63 characters).
_LENGTH_BITS = 7
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
_MAX_CHARS = _LENGTH_MASK // 2


class Cutter:
    """jieba's tokens of a block (a run that ``jieba.re_han_default`` matches)."""

    __slots__ = (
        "_automaton",
        "_emissions",
        "_fallback",
        "_freq",
        "_hmm_start",
        "_log_probabilities",
        "_missing",
        "_transitions",
    )

    def __init__(self, tokenizer: jieba.Tokenizer | None = None) -> None:
        tokenizer = tokenizer or jieba.dt
        tokenizer.check_initialized()
        freq = tokenizer.FREQ
        log_total = math.log(tokenizer.total)
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        log_probabilities = array.array("d")
        for word, count in freq.items():
            # Only words (a count); the other keys are their prefixes. Longer words than
            # the automaton's values hold do not occur in jieba's dictionary.
            if count and len(word) <= _MAX_CHARS:
                automaton.add_word(
                    word.encode("utf-16-le").decode("latin-1"),
                    len(log_probabilities) << _LENGTH_BITS | 2 * len(word),
                )
                log_probabilities.append(math.log(count) - log_total)
        automaton.make_automaton()
        self._automaton = automaton
        self._log_probabilities = log_probabilities
        self._freq = freq
        # jieba scores a character that starts no word as log(1) - log(total).
        self._fallback = math.log(1) - log_total
        # The HMM's tables, by state in the order B, M, E, S.
        emit = finalseg.emit_P
        self._missing = (finalseg.MIN_FLOAT,) * 4
        self._emissions = {
            char: tuple(emit[state].get(char, finalseg.MIN_FLOAT) for state in "BMES")
            for char in emit["B"].keys() | emit["M"].keys() | emit["E"].keys() | emit["S"].keys()
        }
        self._hmm_start = tuple(finalseg.start_P[state] for state in "BMES")
        trans = finalseg.trans_P
        # Into B from E or S, into M from M or B, into S from S or E, into E from B or M
        # (finalseg.PrevStatus).
        self._transitions = (
            trans["E"]["B"],
            trans["S"]["B"],
            trans["M"]["M"],
            trans["B"]["M"],
            trans["S"]["S"],
            trans["E"]["S"],
            trans["B"]["E"],
            trans["M"]["E"],
        )

    def cut(self, block: str) -> list[str]:
        """``jieba.lcut(block)``."""
        ends = self._route(block)
        tokens: list[str] = []
        size = len(block)
        single = ""  # a run of characters the route leaves one by one
        start = 0
        while start < size:
            stop = ends[start] + 1
            if stop - start == 1:
                single += block[start]
            else:
                if single:
                    self._singles_cut(single, tokens)
                    single = ""
                tokens.append(block[start:stop])
            start = stop
        if single:
            self._singles_cut(single, tokens)
        return tokens

    def _singles_cut(self, run: str, tokens: list[str]) -> None:
        """What jieba makes of a run of single characters: itself when one character,
        the HMM's words when the dictionary does not hold it, else its characters."""
        if len(run) == 1:
            tokens.append(run)
        elif not self._freq.get(run):
            self._hmm_cut(run, tokens)
        else:
            tokens.extend(run)

    def _route(self, block: str) -> list[int]:
        """For each character, the last character of the word the best route takes from
        it: jieba's ``calc`` over its ``get_DAG``.

        jieba goes right to left and takes, at each start, the word maximising ``(log
        p(word) + best[after it], its last character)``. The automaton yields the matches
        in the order of their last character; read in reverse, every word that starts
        after a character has been seen by the time the first word ending before it comes,
        so the best route from there on is final when it is needed."""
        size = len(block)
        best: list[float | None] = [None] * size
        best.append(0.0)
        ends = [0] * size
        fallback = self._fallback
        log_probabilities = self._log_probabilities
        done = size  # best[done:] are final
        matches = list(self._automaton.iter(block.encode("utf-16-le").decode("latin-1")))
        for last_byte, value in reversed(matches):
            start = last_byte + 1 - (value & _LENGTH_MASK)
            if start & 1:  # a match across characters: not a word of this text
                continue
            after = (last_byte >> 1) + 1
            while done > after:
                done -= 1
                if best[done] is None:  # no word starts here: the character alone
                    best[done] = fallback + best[done + 1]
                    ends[done] = done
            score = log_probabilities[value >> _LENGTH_BITS] + best[after]
            start >>= 1
            current = best[start]
            # Ties go to the longer word, as in max() over (score, end): the longer ones
            # come first here, so only a higher score replaces.
            if current is None or score > current:
                best[start] = score
                ends[start] = after - 1
        while done > 0:
            done -= 1
            if best[done] is None:
                best[done] = fallback + best[done + 1]
                ends[done] = done
        return ends

    def _hmm_cut(self, run: str, tokens: list[str]) -> None:
        """``jieba.finalseg.cut(run)``: the HMM on its Han characters, letters and digits
        kept together, words that must be split split."""
        force_split = finalseg.Force_Split_Words
        for part in finalseg.re_han.split(run):
            if not part:
                continue
            if finalseg.re_han.match(part):
                for word in self._viterbi_cut(part):
                    if word in force_split:
                        tokens.extend(word)
                    else:
                        tokens.append(word)
            else:
                tokens.extend(piece for piece in finalseg.re_skip.split(part) if piece)

    def _viterbi_cut(self, text: str) -> list[str]:
        """The words of ``finalseg.__cut``: the most probable B/M/E/S tags, by
        ``finalseg.viterbi``'s sums, its ties going to the state ``max`` prefers (the
        later letter)."""
        emissions, missing = self._emissions, self._missing
        t_eb, t_sb, t_mm, t_bm, t_ss, t_es, t_be, t_me = self._transitions
        start_b, start_m, start_e, start_s = self._hmm_start
        e_b, e_m, e_e, e_s = emissions.get(text[0], missing)
        v_b, v_m, v_e, v_s = start_b + e_b, start_m + e_m, start_e + e_e, start_s + e_s
        back: list[tuple[str, str, str, str]] = []
        for char in text[1:]:
            e_b, e_m, e_e, e_s = emissions.get(char, missing)
            from_e, from_s = v_e + t_eb + e_b, v_s + t_sb + e_b
            b, b_from = (from_s, "S") if from_s >= from_e else (from_e, "E")
            from_m, from_b = v_m + t_mm + e_m, v_b + t_bm + e_m
            m, m_from = (from_m, "M") if from_m >= from_b else (from_b, "B")
            from_s, from_e = v_s + t_ss + e_s, v_e + t_es + e_s
            s, s_from = (from_s, "S") if from_s >= from_e else (from_e, "E")
            from_b, from_m = v_b + t_be + e_e, v_m + t_me + e_e
            e, e_from = (from_m, "M") if from_m >= from_b else (from_b, "B")
            v_b, v_m, v_e, v_s = b, m, e, s
            back.append((b_from, m_from, e_from, s_from))
        state = "S" if v_s >= v_e else "E"
        tags = [state]
        for pointers in reversed(back):
            state = pointers["BMES".index(state)]
            tags.append(state)
        tags.reverse()
        words: list[str] = []
        begin = after = 0
        for index, tag in enumerate(tags):
            if tag == "B":
                begin = index
            elif tag == "E":
                words.append(text[begin : index + 1])
                after = index + 1
            elif tag == "S":
                words.append(text[index])
                after = index + 1
        if after < len(text):
            words.append(text[after:])
        return words


@functools.cache
def cutter() -> Cutter:
    """The process's cutter, over jieba's default dictionary."""
    return Cutter()
