//! One llama.cpp sampler chain per request, built from its [`SamplingParams`].
//!
//! Each reply owns its chain because the chain has state (the repetition window, the random
//! generator seeded per request): sharing one across rooms would make a room's reply depend
//! on what the others generated.

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use llama_cpp_2::token::LlamaToken;

use crate::engine::types::SamplingParams;

/// Builds the chain in llama.cpp's usual order: penalties, truncation (top-k, top-p, min-p),
/// temperature, then the final choice (greedy or seeded random). With `ignore_eos` the
/// model's end-of-generation tokens (`eog`) are banned first, as llama-server does.
pub(crate) fn build_sampler(
    params: &SamplingParams,
    n_vocab: i32,
    eog: &[LlamaToken],
) -> LlamaSampler {
    let mut chain = Vec::new();
    if params.ignore_eos && !eog.is_empty() {
        let banned: Vec<LlamaLogitBias> = eog
            .iter()
            .map(|t| LlamaLogitBias::new(*t, f32::NEG_INFINITY))
            .collect();
        chain.push(LlamaSampler::logit_bias(n_vocab, &banned));
    }
    if params.repeat_last_n > 0 && (params.repeat_penalty - 1.0).abs() > f32::EPSILON {
        chain.push(LlamaSampler::penalties(
            n_vocab,
            params.repeat_last_n.min(i32::MAX as u32) as i32,
            params.repeat_penalty.max(0.01),
            0.0,
            0.0,
        ));
    }
    if params.is_greedy() {
        chain.push(LlamaSampler::greedy());
    } else {
        if params.top_k > 0 {
            chain.push(LlamaSampler::top_k(params.top_k.min(i32::MAX as u32) as i32));
        }
        if params.top_p > 0.0 && params.top_p < 1.0 {
            chain.push(LlamaSampler::top_p(params.top_p, 1));
        }
        if params.min_p > 0.0 {
            chain.push(LlamaSampler::min_p(params.min_p, 1));
        }
        chain.push(LlamaSampler::temp(params.temperature));
        chain.push(LlamaSampler::dist(params.seed));
    }
    LlamaSampler::chain_simple(chain)
}
