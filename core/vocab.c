// vocab.c: the fixed character vocabulary (see vocab.h for the id table).
// Encoding is arithmetic on character ranges; the name table below is the
// readable list of every id, and a test checks that the two agree.
#include <string.h>
#include "core/vocab.h"
#include "core/common.h"

static const char *const TOKEN_NAMES[TASK_VOCAB_SIZE] = {
    "<pad>", "<bos>", "<eos>", "[NUM]",
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "+", "-", "*", "=", ",", "$", "%", "(", ")", " ", "\\n", ":", ".", "[", "]", "<", ">", "/",
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
    "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
    "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M",
    "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
};

int task_vocab_size(void) { return TASK_VOCAB_SIZE; }

int task_tok(char c)
{
    if (c >= '0' && c <= '9') return TASK_DIGIT0 + (c - '0');
    if (c >= 'a' && c <= 'z') return TASK_LOWER0 + (c - 'a');
    if (c >= 'A' && c <= 'Z') return TASK_UPPER0 + (c - 'A');
    if (c == '\0') return -1;   // strchr would match the terminator
    const char *p = strchr(TASK_PUNCT_CHARS, c);
    return p ? TASK_PUNCT0 + (int)(p - TASK_PUNCT_CHARS) : -1;
}

int task_tok_char(int id)
{
    if (id >= TASK_DIGIT0 && id < TASK_DIGIT0 + 10) return '0' + (id - TASK_DIGIT0);
    if (id >= TASK_PUNCT0 && id < TASK_LOWER0) return TASK_PUNCT_CHARS[id - TASK_PUNCT0];
    if (id >= TASK_LOWER0 && id < TASK_UPPER0) return 'a' + (id - TASK_LOWER0);
    if (id >= TASK_UPPER0 && id < TASK_VOCAB_SIZE) return 'A' + (id - TASK_UPPER0);
    return -1;
}

int task_tok_digit(int id)
{
    return (id >= TASK_DIGIT0 && id < TASK_DIGIT0 + 10) ? id - TASK_DIGIT0 : -1;
}

int task_tok_number(int id)
{
    return (id >= TASK_NUMTOK0 && id < TASK_NUMTOK0 + VOCAB_MAX_NUMBER_TOKENS) ? id - TASK_NUMTOK0 : -1;
}

const char *task_tok_name(int id)
{
    if (id >= 0 && id < TASK_VOCAB_SIZE) return TOKEN_NAMES[id];
    int v = task_tok_number(id);
    if (v < 0) return "?";
    static _Thread_local char names[8][16];
    static _Thread_local int next;
    char *s = names[next++ % 8];
    snprintf(s, 16, "<%d>", v);
    return s;
}

static const char *printable(char c, char buf[8])
{
    if (c == '\n') return "\\n";
    if (c >= 32 && c < 127) { buf[0] = c; buf[1] = 0; return buf; }
    snprintf(buf, 8, "\\x%02x", (unsigned char)c);
    return buf;
}

int task_encode(const char *text, int *ids, int cap, int *n_out, char *err)
{
    int n = 0;
    for (const char *p = text; *p; p++) {
        int id = task_tok(*p);
        if (id < 0) {
            char buf[8];
            return err_set(err, "character '%s' at position %d of \"%.40s\" is not in the vocabulary "
                           "(digits, a-z, A-Z and \"%s\" are)", printable(*p, buf),
                           (int)(p - text), text, "+-*=,$%() :.[]<>/ and newline");
        }
        if (n >= cap) return err_set(err, "text of %d+ characters does not fit %d ids", n + 1, cap);
        ids[n++] = id;
    }
    *n_out = n;
    return 0;
}

int task_decode(const int *ids, int n, char *out, size_t cap, char *err)
{
    return task_decode_n(ids, n, 0, out, cap, err);
}

int task_decode_n(const int *ids, int n, int n_numbers, char *out, size_t cap, char *err)
{
    size_t len = 0;
    if (cap == 0) return err_set(err, "task_decode: output buffer has no room");
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= TASK_VOCAB_SIZE + n_numbers)
            return err_set(err, "token id %d at position %d is outside the vocabulary [0, %d)",
                           ids[i], i, TASK_VOCAB_SIZE + n_numbers);
        int c = task_tok_char(ids[i]);
        char one[2] = { (char)c, 0 };
        const char *s = c >= 0 ? one : task_tok_name(ids[i]);
        size_t k = strlen(s);
        if (len + k + 1 > cap)
            return err_set(err, "decoded text of %d tokens does not fit %zu bytes", n, cap);
        memcpy(out + len, s, k + 1);
        len += k;
    }
    return 0;
}
