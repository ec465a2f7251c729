// nope.c: no position information at all (NoPE; Kazemnejad et al. 2023, "The Impact
// of Positional Encoding on Length Generalization in Transformers"): a causal decoder
// can still infer order from its mask. No hooks; the entry lets "nope" and "abacus+nope" parse.
#include "embeddings/pos.h"

const pos_vtable_t pos_nope = {
    .name = "nope",
    .help = "no position information (NoPE): the causal mask is the only source of order",
};
