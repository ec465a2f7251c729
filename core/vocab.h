// vocab.h: the one character-level vocabulary that every task and format uses.
// Ids are fixed and documented here because checkpoints store embeddings by id:
// new symbols may only ever be appended, never renumbered.
//
//   id      token
//   0       <pad>   padding after the end of a sequence (never trained on)
//   1       <bos>   start of every sequence
//   2       <eos>   end of every sequence (trained on: the model learns to stop)
//   3       [NUM]   reserved for a later FoNE format (one token per number)
//   4..13   '0'..'9'            (digit value = id - TASK_DIGIT0)
//   14..31  + - * = , $ % ( ) space newline : . [ ] < > /   (in this order)
//   32..57  'a'..'z'            (index-hint letters, scratchpad words)
//   58..83  'A'..'Z'            (sort keys, scratchpad words)
#ifndef ARITHLAB_VOCAB_H
#define ARITHLAB_VOCAB_H

#include <stddef.h>

enum {
    TASK_PAD = 0,
    TASK_BOS = 1,
    TASK_EOS = 2,
    TASK_NUM = 3,
    TASK_DIGIT0 = 4,      // '0'; digits are contiguous
    TASK_PUNCT0 = 14,     // first of TASK_PUNCT_CHARS
    TASK_LOWER0 = 32,     // 'a'
    TASK_UPPER0 = 58,     // 'A'
    TASK_VOCAB_SIZE = 84
};

// the most digits a FoNE value may have: values are doubles, exact up to 15 digits.
// The one declaration of this limit (task widths, model.fone_places, the FoNE tables).
#define VOCAB_FONE_MAX_PLACES 15

// the punctuation tokens, ids TASK_PUNCT0.. in this order
#define TASK_PUNCT_CHARS "+-*=,$%() \n:.[]<>/"

int task_vocab_size(void);
// id of a character; -1 if the character is not in the vocabulary
int task_tok(char c);
// the character an id stands for; -1 for the special tokens and ids out of range
int task_tok_char(int id);
// 0..9 for a digit token, -1 otherwise (position schemes use this to find numbers)
int task_tok_digit(int id);
// printable name: "<pad>", "<bos>", "<eos>", "[NUM]", "\\n", " ", "7", ...; "?" if out of range
const char *task_tok_name(int id);

// text -> ids (no BOS/EOS added); -1 + err naming the first unknown character
int task_encode(const char *text, int *ids, int cap, int *n_out, char *err);
// ids -> text for display: characters as themselves, special tokens by their
// names (so "<eos>" in the output is not the five characters it looks like);
// -1 + err on an id outside the vocabulary or when out (cap bytes) is too small
int task_decode(const int *ids, int n, char *out, size_t cap, char *err);

#endif
