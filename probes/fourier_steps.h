// fourier_steps.h: the Fourier probe across training: the spectrum of the number
// embeddings (the ten digits, or a number-token model's operand tokens 0..N-1;
// probe_fourier_spectrum, probe_fourier_key_freqs in probes/probe.h) at every
// checkpoint a run kept (train.keep_every, run/train.h), each frequency's share
// of the non-constant energy against the step, beside the run's accuracy.
#ifndef ARITHLAB_PROBE_FOURIER_STEPS_H
#define ARITHLAB_PROBE_FOURIER_STEPS_H

#include <stdio.h>

// per kept checkpoint of run_dir, in step order: the number embeddings' share per
// frequency k = 0..N/2 (N = 10 for digits, the operand range for number tokens; k = 0
// always 0) and whether k is a key frequency (key_ratio as probe fourier's --key-ratio).
// Writes into dir (which must exist):
//   fourier_steps.csv  step,k,period,share_of_nonconstant_energy,key (one row per step and k)
//   fourier_steps.npy  (n_steps, N/2 + 1) shares
//   fourier_steps.png  share against step, one line per frequency that is key at
//                      some step (at most 8; every k = 1..5 when none is), and dashed,
//                      the run's held-out and training exact match (metrics.csv)
// threads: as --threads. -1 + err: no kept checkpoint (saying how to keep them), a
// checkpoint that cannot be read, or a FoNE model (no digit-token embeddings).
int probe_fourier_steps_write(const char *run_dir, float key_ratio, int threads, const char *dir, FILE *log, char *err);

#endif
