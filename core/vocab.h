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
//   84..    number tokens (task.numbers = tokens): id 84 + v is the value v, named "<v>";
//           a run has task_number_tokens(cfg) of them, so its vocabulary is 84 + that
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
    TASK_VOCAB_SIZE = 84, // the character vocabulary; number tokens follow it
    TASK_NUMTOK0 = 84     // number token of value v (task.numbers = tokens): TASK_NUMTOK0 + v
};

// the most number tokens a run may have (values 0..VOCAB_MAX_NUMBER_TOKENS-1): the
// embedding, unembedding and their AdamW moments grow with it, and so do the logits
#define VOCAB_MAX_NUMBER_TOKENS 100000

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
// the value of a number token (id - TASK_NUMTOK0), -1 for any other id
int task_tok_number(int id);
// printable name: "<pad>", "<bos>", "<eos>", "[NUM]", "\\n", " ", "7", ..., "<17>" for the
// number token of 17 (in one of a few per-thread buffers: copy it before the 8th next call);
// "?" if out of range
const char *task_tok_name(int id);

// text -> ids (no BOS/EOS added); -1 + err naming the first unknown character
int task_encode(const char *text, int *ids, int cap, int *n_out, char *err);
// ids -> text for display: characters as themselves, special tokens by their
// names (so "<eos>" in the output is not the five characters it looks like);
// -1 + err on an id outside the vocabulary or when out (cap bytes) is too small
int task_decode(const int *ids, int n, char *out, size_t cap, char *err);
// the same with the number tokens of values 0..n_numbers-1 allowed, written "<17>"
int task_decode_n(const int *ids, int n, int n_numbers, char *out, size_t cap, char *err);

#endif
