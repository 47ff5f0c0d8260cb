//! Jacobians by autodiff against the analytic matrices: of a bias, a fully
//! connected layer and a convolution, with respect to their inputs and to
//! their parameters.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};

use super::Check;

/// A row-major `outputs × inputs` matrix.
pub struct Jacobian {
    pub values: Vec<f64>,
    pub outputs: usize,
    pub inputs: usize,
}

/// Jacobian of `f` at `x` by autodiff, one backward pass per output.
pub fn autodiff_jacobian<B: AutodiffBackend>(
    f: &dyn Fn(Tensor<B, 1>) -> Tensor<B, 1>,
    x: Tensor<B, 1>,
) -> Jacobian {
    let n = x.dims()[0];
    let m = f(x.clone()).dims()[0];
    let mut rows = Vec::with_capacity(m * n);
    for i in 0..m {
        let xi = x.clone().detach().require_grad();
        let yi = f(xi.clone()).narrow(0, i, 1).sum();
        let grads = yi.backward();
        let g = xi.grad(&grads).expect("x requires grad");
        rows.extend(
            g.into_data()
                .convert::<f64>()
                .into_vec::<f64>()
                .expect("floats"),
        );
    }
    Jacobian {
        values: rows,
        outputs: m,
        inputs: n,
    }
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().into_vec().expect("floats")
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "matrices of different sizes");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The convolution's Jacobian written out: T[i][j] = w[j − i] for a valid
/// convolution (cross-correlation, as in deep-learning libraries).
pub fn toeplitz(w: &[f64], n: usize) -> Vec<f64> {
    let k = w.len();
    let m = n - k + 1;
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for (d, &wd) in w.iter().enumerate() {
            t[i * n + i + d] = wd;
        }
    }
    t
}

/// The Jacobian checks and the convolution kernel they used.
pub(super) struct JacobianChecks {
    pub checks: Vec<Check>,
    pub kernel: Vec<f64>,
}

/// Autodiff against the analytic matrix, on inputs and weights drawn from
/// the backend's (seeded) generator.
pub(super) fn jacobians<B: AutodiffBackend>(device: &B::Device) -> JacobianChecks {
    let normal = Distribution::Normal(0.0, 1.0);
    let n = 8;
    let x1 = Tensor::<B, 1>::random([n], normal, device);
    let b = Tensor::<B, 1>::random([n], normal, device);
    let j = autodiff_jacobian(&|x| x + b.clone(), x1.clone());
    let identity: Vec<f64> = (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    let mut checks = Vec::new();
    let mut jac = |claim: &str, test: String, error| {
        checks.push(Check {
            claim: claim.to_string(),
            test,
            expected: super::Expected::Equal,
            error,
        });
    };
    jac(
        "Jacobian of a bias: the identity",
        format!("n = {n}"),
        max_diff(&j.values, &identity),
    );
    let m = 5;
    let wfc = Tensor::<B, 2>::random([m, n], normal, device);
    let bfc = Tensor::<B, 1>::random([m], normal, device);
    let fc = |x: Tensor<B, 1>| wfc.clone().matmul(x.reshape([n, 1])).reshape([m]) + bfc.clone();
    let j = autodiff_jacobian(&fc, x1.clone());
    jac(
        "Jacobian of a linear layer Wx + b: W",
        format!("{m} × {n}"),
        max_diff(&j.values, &to_vec(wfc.clone())),
    );
    let k = 3;
    let wc = Tensor::<B, 3>::random([1, 1, k], normal, device);
    let conv_layer = |x: Tensor<B, 1>| {
        conv1d(
            x.reshape([1, 1, n]),
            wc.clone(),
            None,
            ConvOptions::new([1], [0], [1], 1),
        )
        .reshape([n - k + 1])
    };
    let j = autodiff_jacobian(&conv_layer, x1.clone());
    let kernel = to_vec(wc.clone());
    let t = toeplitz(&kernel, n);
    jac(
        "Jacobian of a convolution: the Toeplitz matrix of its kernel",
        format!("kernel {k}, n = {n}"),
        max_diff(&j.values, &t),
    );

    // With respect to the parameters: the same autodiff, the layer written
    // as a function of its flattened parameters at a fixed input.
    let x = x1.clone();
    let by_bias = autodiff_jacobian(
        &|b: Tensor<B, 1>| wfc.clone().matmul(x.clone().reshape([n, 1])).reshape([m]) + b,
        bfc.clone(),
    );
    let identity_m: Vec<f64> = (0..m * m)
        .map(|i| if i / m == i % m { 1.0 } else { 0.0 })
        .collect();
    jac(
        "Jacobian of Wx + b in b: the identity",
        format!("{m} × {m}"),
        max_diff(&by_bias.values, &identity_m),
    );
    let by_weights = autodiff_jacobian(
        &|w: Tensor<B, 1>| {
            w.reshape([m, n])
                .matmul(x.clone().reshape([n, 1]))
                .reshape([m])
                + bfc.clone()
        },
        wfc.clone().reshape([m * n]),
    );
    jac(
        "Jacobian of Wx + b in W: x in row i's block i",
        format!("{m} × {}", m * n),
        max_diff(&by_weights.values, &weight_jacobian(&to_vec(x1.clone()), m)),
    );
    let by_kernel = autodiff_jacobian(
        &|w: Tensor<B, 1>| {
            conv1d(
                x.clone().reshape([1, 1, n]),
                w.reshape([1, 1, k]),
                None,
                ConvOptions::new([1], [0], [1], 1),
            )
            .reshape([n - k + 1])
        },
        wc.clone().reshape([k]),
    );
    jac(
        "Jacobian of a convolution in its kernel: the input's Hankel matrix",
        format!("{} × {k}", n - k + 1),
        max_diff(&by_kernel.values, &hankel(&to_vec(x1), k)),
    );
    JacobianChecks { checks, kernel }
}

/// ∂(Wx)_i/∂W_jk = δ_ij x_k, row-major over (j, k): an `m × (m·n)` matrix.
pub fn weight_jacobian(x: &[f64], m: usize) -> Vec<f64> {
    let n = x.len();
    let mut j = vec![0.0; m * m * n];
    for i in 0..m {
        for (k, &xk) in x.iter().enumerate() {
            j[i * m * n + i * n + k] = xk;
        }
    }
    j
}

/// ∂(x * w)_i/∂w_d = x[i + d]: the `(n − k + 1) × k` Hankel matrix of x.
pub fn hankel(x: &[f64], k: usize) -> Vec<f64> {
    let rows = x.len() - k + 1;
    (0..rows)
        .flat_map(|i| (0..k).map(move |d| x[i + d]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    #[test]
    fn autodiff_jacobian_of_a_conv_is_its_toeplitz_matrix() {
        type A = Autodiff<Flex>;
        let device = Default::default();
        let w = [0.5f64, -1.0, 2.0];
        let wt = Tensor::<A, 3>::from_data([[[0.5f32, -1.0, 2.0]]], &device);
        let x = Tensor::<A, 1>::from_data([1.0f32, 2.0, -1.0, 0.5, 3.0, -2.0], &device);
        let f = |x: Tensor<A, 1>| {
            conv1d(
                x.reshape([1, 1, 6]),
                wt.clone(),
                None,
                ConvOptions::new([1], [0], [1], 1),
            )
            .reshape([4])
        };
        let j = autodiff_jacobian(&f, x);
        assert_eq!((j.outputs, j.inputs), (4, 6));
        assert!(max_diff(&j.values, &toeplitz(&w, 6)) < 1e-6);
        // A wrong analytic matrix (the kernel flipped) is caught.
        assert!(max_diff(&j.values, &toeplitz(&[2.0, -1.0, 0.5], 6)) > 1.0);
    }

    #[test]
    fn parameter_jacobians_are_written_out_right() {
        assert_eq!(
            hankel(&[1.0, 2.0, 3.0, 4.0], 2),
            [1.0, 2.0, 2.0, 3.0, 3.0, 4.0]
        );
        // m = 2, x = (5, 6): row 0 is (5, 6, 0, 0), row 1 (0, 0, 5, 6).
        assert_eq!(
            weight_jacobian(&[5.0, 6.0], 2),
            [5.0, 6.0, 0.0, 0.0, 0.0, 0.0, 5.0, 6.0]
        );
    }
}
