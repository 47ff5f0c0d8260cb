//! Backend selection at run time. The book is generic over
//! `B: AutodiffBackend`; this module picks the concrete type from `--backend`
//! and fails with a clear error when that backend is not compiled in or has
//! no device.

use serde::Serialize;

use crate::base::error::Ex2Error;
use crate::nn::lowered_conv::{ConvStrategy, set_strategy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn's flex CPU backend (default; needs nothing installed).
    Cpu,
    /// NVIDIA GPUs through burn-cuda (cargo feature `cuda`).
    Cuda,
    /// Any GPU through wgpu (cargo feature `wgpu`).
    Wgpu,
    /// burn's ndarray CPU backend (cargo feature `ndarray`; for comparison).
    Ndarray,
    /// burn's candle CPU backend (cargo feature `candle`; for comparison).
    Candle,
}

impl BackendKind {
    /// How the models' convolutions run on this backend: lowered to matrix
    /// products on the CPUs (faster there, measured by `ex2 bench`), burn's
    /// own kernels on the GPUs (deterministic there; see `lowered_conv`).
    pub fn conv_strategy(self) -> ConvStrategy {
        match self {
            BackendKind::Cpu | BackendKind::Ndarray | BackendKind::Candle => ConvStrategy::Lowered,
            BackendKind::Cuda | BackendKind::Wgpu => ConvStrategy::Native,
        }
    }

    /// The numeric kernels this backend computes with here: results differ
    /// in the last bits between them, so cache keys name them.
    pub fn kernels(self) -> &'static str {
        match self {
            BackendKind::Cpu => flex_matrix_kernels(),
            BackendKind::Ndarray => "ndarray kernels",
            BackendKind::Candle => "candle kernels",
            BackendKind::Cuda | BackendKind::Wgpu => "burn's GPU kernels",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Cuda => "cuda",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Candle => "candle",
        }
    }
}

/// Work that runs on whichever backend was chosen.
pub trait BackendTask {
    type Output;
    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        device_name: String,
    ) -> anyhow::Result<Self::Output>;
}

pub fn dispatch<T: BackendTask>(kind: BackendKind, task: T) -> anyhow::Result<T::Output> {
    set_strategy(kind.conv_strategy());
    let named = |device: String| format!("{device}; {}", kind.conv_strategy().describe());
    match kind {
        BackendKind::Cpu => {
            type B = burn::backend::Autodiff<burn::backend::Flex>;
            let threads = crate::runtime::scheduler::cores();
            task.run::<B>(
                burn::backend::flex::FlexDevice,
                named(format!(
                    "CPU, burn flex, {threads} threads, {}",
                    flex_matrix_kernels()
                )),
            )
        }
        BackendKind::Ndarray => {
            #[cfg(feature = "ndarray")]
            {
                type B = burn::backend::Autodiff<burn::backend::NdArray>;
                let threads = crate::runtime::scheduler::cores();
                task.run::<B>(
                    burn::backend::ndarray::NdArrayDevice::Cpu,
                    named(format!("CPU, burn ndarray, {threads} threads")),
                )
            }
            #[cfg(not(feature = "ndarray"))]
            {
                let _ = task;
                Err(not_compiled(kind).into())
            }
        }
        BackendKind::Candle => {
            #[cfg(feature = "candle")]
            {
                type B = burn::backend::Autodiff<burn::backend::Candle>;
                let threads = crate::runtime::scheduler::cores();
                task.run::<B>(
                    burn::backend::candle::CandleDevice::Cpu,
                    named(format!("CPU, burn candle, {threads} threads")),
                )
            }
            #[cfg(not(feature = "candle"))]
            {
                let _ = task;
                Err(not_compiled(kind).into())
            }
        }
        BackendKind::Cuda => {
            #[cfg(feature = "cuda")]
            {
                type B = burn::backend::Autodiff<burn::backend::Cuda>;
                let device = burn::backend::cuda::CudaDevice::default();
                probe::<B>(kind, &device)?;
                task.run::<B>(device.clone(), named(format!("CUDA {device:?}")))
            }
            #[cfg(not(feature = "cuda"))]
            {
                let _ = task;
                Err(not_compiled(kind).into())
            }
        }
        BackendKind::Wgpu => {
            #[cfg(feature = "wgpu")]
            {
                type B = burn::backend::Autodiff<burn::backend::Wgpu>;
                let device = burn::backend::wgpu::WgpuDevice::default();
                probe::<B>(kind, &device)?;
                task.run::<B>(device.clone(), named(format!("wgpu {device:?}")))
            }
            #[cfg(not(feature = "wgpu"))]
            {
                let _ = task;
                Err(not_compiled(kind).into())
            }
        }
    }
}

/// Which of gemm's kernels flex multiplies matrices with on this CPU
/// (chosen at run time, as gemm does). Results differ in the last bits
/// between them, so the manifest names the one a run used.
fn flex_matrix_kernels() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "x86-v4") && std::arch::is_x86_feature_detected!("avx512f") {
            return "AVX-512 matrix kernels";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "AVX2/FMA matrix kernels";
        }
    }
    "portable matrix kernels"
}

/// Fails early, before any work, when `kind` is not compiled into this binary.
pub fn ensure_compiled(kind: BackendKind) -> Result<(), Ex2Error> {
    let compiled = match kind {
        BackendKind::Cpu => true,
        BackendKind::Cuda => cfg!(feature = "cuda"),
        BackendKind::Wgpu => cfg!(feature = "wgpu"),
        BackendKind::Ndarray => cfg!(feature = "ndarray"),
        BackendKind::Candle => cfg!(feature = "candle"),
    };
    if compiled {
        Ok(())
    } else {
        Err(not_compiled(kind))
    }
}

fn not_compiled(kind: BackendKind) -> Ex2Error {
    Ex2Error::Backend {
        backend: kind.as_str().into(),
        message: format!(
            "this binary was built without it; rebuild with `cargo build --release --features {}`",
            kind.as_str()
        ),
    }
}

/// Runs a tiny computation on the device. GPU runtimes panic when no device
/// or driver is present; that panic becomes an error naming the backend.
#[allow(dead_code)]
fn probe<B: burn::tensor::backend::Backend>(
    kind: BackendKind,
    device: &B::Device,
) -> Result<(), Ex2Error> {
    let device = device.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let t = burn::tensor::Tensor::<B, 1>::ones([4], &device);
        t.sum().into_data()
    }));
    std::panic::set_hook(hook);
    result.map(|_| ()).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the runtime panicked".into());
        Ex2Error::Backend {
            backend: kind.as_str().into(),
            message: format!("no usable device ({message}); is a GPU and its driver present?"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Device;
    impl BackendTask for Device {
        type Output = String;
        fn run<B: burn::tensor::backend::AutodiffBackend>(
            self,
            _device: B::Device,
            name: String,
        ) -> anyhow::Result<String> {
            Ok(name)
        }
    }

    #[test]
    fn cpu_is_always_available() {
        assert!(
            dispatch(BackendKind::Cpu, Device)
                .unwrap()
                .starts_with("CPU")
        );
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_a_clear_error() {
        let e = dispatch(BackendKind::Cuda, Device).unwrap_err().to_string();
        assert!(e.contains("cuda") && e.contains("--features cuda"), "{e}");
    }
}
