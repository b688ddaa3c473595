//! Loading: the process-wide llama.cpp backend, the model file checks, the model and the one
//! context that serves every room.

use std::io::Read;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use crate::engine::config::EngineConfig;
use crate::engine::error::EngineError;

/// llama.cpp's backend may be initialised once per process, but tests and tools build several
/// engines; so it lives here for the life of the process.
pub(crate) fn backend() -> &'static LlamaBackend {
    static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        // llama.cpp logs every tensor at load; route it through tracing (targets
        // `llama-cpp-2`) so the server's filter decides what is shown.
        llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
        LlamaBackend::init().expect("the llama.cpp backend is initialised only here")
    })
}

/// Refuses a missing file or one that is not GGUF before llama.cpp sees it: llama.cpp's own
/// failure is a bare null pointer, which would make a poor message for a wrong `--model`.
pub(crate) fn check_model_file(path: &Path) -> Result<(), EngineError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EngineError::ModelNotFound {
                path: path.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(EngineError::ModelLoad {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    if path.is_dir() {
        return Err(EngineError::NotGguf {
            path: path.to_path_buf(),
        });
    }
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        _ => Err(EngineError::NotGguf {
            path: path.to_path_buf(),
        }),
    }
}

/// Checks the numbers before any memory is committed.
pub(crate) fn check_config(config: &EngineConfig) -> Result<(), EngineError> {
    let bad = |what: String| Err(EngineError::InvalidConfig(what));
    if !(1..=256).contains(&config.slots) {
        return bad(format!("slots is {}, expected 1 to 256", config.slots));
    }
    if config.context_per_slot < 64 {
        return bad(format!(
            "context_per_slot is {}, expected at least 64 tokens",
            config.context_per_slot
        ));
    }
    if config.batch_size < 16 {
        return bad(format!(
            "batch_size is {}, expected at least 16",
            config.batch_size
        ));
    }
    if config.batch_size < config.slots {
        return bad(format!(
            "batch_size ({}) must be at least slots ({}): every generating room adds a token to each step",
            config.batch_size, config.slots
        ));
    }
    if config.threads == 0 {
        return bad("threads is 0, expected at least 1".into());
    }
    if config.reply_reserve >= config.context_per_slot {
        return bad(format!(
            "reply_reserve ({}) must be smaller than context_per_slot ({})",
            config.reply_reserve, config.context_per_slot
        ));
    }
    Ok(())
}

pub(crate) fn load_model(config: &EngineConfig) -> Result<LlamaModel, EngineError> {
    let params = LlamaModelParams::default().with_n_gpu_layers(config.gpu_layers);
    LlamaModel::load_from_file(backend(), &config.model_path, &params).map_err(|e| {
        EngineError::ModelLoad {
            path: config.model_path.clone(),
            reason: format!("llama.cpp could not read it as a model ({e})"),
        }
    })
}

/// One context for all rooms: `n_seq_max` sequences of `context_per_slot` tokens each.
pub(crate) fn new_context<'m>(
    model: &'m LlamaModel,
    config: &EngineConfig,
    context_per_slot: u32,
) -> Result<LlamaContext<'m>, EngineError> {
    let n_ctx = context_per_slot.saturating_mul(config.slots);
    let threads = config.threads.min(i32::MAX as u32) as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(config.batch_size)
        .with_n_ubatch(config.batch_size)
        .with_n_seq_max(config.slots)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_kv_unified(config.kv_unified)
        // llama.h's `llama_flash_attn_type` (a C int): AUTO -1, DISABLED 0, ENABLED 1.
        .with_flash_attention_policy(match config.flash_attention {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        });
    model
        .new_context(backend(), params)
        .map_err(|e| EngineError::ModelLoad {
            path: config.model_path.clone(),
            reason: format!(
                "could not create a context of {n_ctx} tokens for {} rooms ({e})",
                config.slots
            ),
        })
}

/// Runs one token through the model and forgets it, so the first child's request does not pay
/// for the first touch of the weights and llama.cpp's lazy allocations (seconds on a cold start).
pub(crate) fn warm_up(ctx: &mut LlamaContext<'_>, model: &LlamaModel) {
    let mut batch = LlamaBatch::new(1, 1);
    let token = model.vocab().bos();
    if batch.add(token, 0, &[0], true).is_ok() {
        if let Err(e) = ctx.decode(&mut batch) {
            tracing::warn!(error = %e, "warm-up decode failed");
        }
    }
    ctx.clear_kv_cache();
}

/// The model's name from its metadata (`general.name`), else the file name.
pub(crate) fn model_name(model: &LlamaModel, path: &Path) -> String {
    match model.meta_val_str("general.name") {
        Ok(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string()),
    }
}
