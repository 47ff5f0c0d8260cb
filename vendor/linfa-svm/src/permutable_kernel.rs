use crate::Float;
use linfa_kernel::{Kernel, KernelInner};
use ndarray::Array1;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

pub trait Permutable<F: Float> {
    fn swap_indices(&mut self, i: usize, j: usize);
    fn distances(&self, idx: usize, length: usize) -> Distances<F>;
    fn self_distance(&self, idx: usize) -> F;
    fn inner(&self) -> &Kernel<F>;
    fn into_inner(self) -> Kernel<F>;
}

/// ex2 patch: one column of signed kernel values in the solver's current
/// order, possibly a cached one shared with the column cache (so a hit
/// copies nothing).
#[derive(Debug, Clone)]
pub struct Distances<F> {
    values: Arc<Vec<F>>,
    len: usize,
}

impl<F> Deref for Distances<F> {
    type Target = [F];

    fn deref(&self) -> &[F] {
        &self.values[..self.len]
    }
}

impl<F> From<Vec<F>> for Distances<F> {
    fn from(values: Vec<F>) -> Self {
        let len = values.len();
        Distances {
            values: Arc::new(values),
            len,
        }
    }
}

/// ex2 patch: libsvm's kernel column cache. SMO picks the same few hundred
/// variables again and again; without a cache every step gathered three
/// permuted columns from the kernel matrix, most of a solve's time on
/// low-dimensional features. Columns are kept in the solver's order (each
/// swap is applied to them) and filled to the longest length asked for, the
/// least recently used evicted when the byte budget is spent.
#[derive(Debug, Default)]
struct ColumnCache<F> {
    /// Columns the budget allows.
    capacity: usize,
    /// The slot holding each position's column.
    slot_of: Vec<Option<usize>>,
    slots: Vec<CachedColumn<F>>,
    clock: u64,
}

#[derive(Debug)]
struct CachedColumn<F> {
    position: usize,
    /// Valid up to its length; positions beyond were never asked for.
    values: Arc<Vec<F>>,
    last_used: u64,
}

/// The bytes of columns one solver caches (libsvm's default `-m` is 100 MB,
/// scikit-learn's 200 MB; ten one-vs-rest solves may each hold one).
const CACHE_BYTES: usize = 100 << 20;

impl<F: Float> ColumnCache<F> {
    fn new(size: usize) -> Self {
        let column_bytes = (size * std::mem::size_of::<F>()).max(1);
        ColumnCache {
            capacity: (CACHE_BYTES / column_bytes).max(2),
            slot_of: vec![None; size],
            slots: Vec::new(),
            clock: 0,
        }
    }

    /// The column at `position`, at least `length` long, computing what is
    /// missing with `fill(range, column)`.
    fn get(
        &mut self,
        position: usize,
        length: usize,
        fill: impl FnOnce(std::ops::Range<usize>, &mut Vec<F>),
    ) -> Distances<F> {
        self.clock += 1;
        let slot = match self.slot_of[position] {
            Some(slot) => slot,
            None => {
                let slot = if self.slots.len() < self.capacity {
                    self.slots.push(CachedColumn {
                        position,
                        values: Arc::new(Vec::new()),
                        last_used: 0,
                    });
                    self.slots.len() - 1
                } else {
                    let slot = (0..self.slots.len())
                        .min_by_key(|&slot| self.slots[slot].last_used)
                        .expect("capacity is at least 2");
                    self.slot_of[self.slots[slot].position] = None;
                    let evicted = &mut self.slots[slot];
                    evicted.position = position;
                    // Reuse the buffer when no caller still holds it.
                    match Arc::get_mut(&mut evicted.values) {
                        Some(values) => values.clear(),
                        None => evicted.values = Arc::new(Vec::new()),
                    }
                    slot
                };
                self.slot_of[position] = Some(slot);
                slot
            }
        };
        let cached = &mut self.slots[slot];
        cached.last_used = self.clock;
        let filled = cached.values.len();
        if filled < length {
            let values = Arc::make_mut(&mut cached.values);
            fill(filled..length, values);
        }
        Distances {
            values: Arc::clone(&cached.values),
            len: length,
        }
    }

    /// Positions `i` and `j` trade places, in every cached column too; a
    /// column filled past one of them but not the other is dropped (libsvm's
    /// `swap_index`).
    fn swap(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (low, high) = (i.min(j), i.max(j));
        self.slot_of.swap(i, j);
        for position in [i, j] {
            if let Some(slot) = self.slot_of[position] {
                self.slots[slot].position = position;
            }
        }
        for slot in 0..self.slots.len() {
            let filled = self.slots[slot].values.len();
            if filled > high {
                Arc::make_mut(&mut self.slots[slot].values).swap(low, high);
            } else if filled > low {
                Arc::make_mut(&mut self.slots[slot].values).truncate(low);
            }
        }
    }
}

// The cache is scratch space: a copy starts empty, and it takes no part in
// equality.
impl<F: Float> Clone for ColumnCache<F> {
    fn clone(&self) -> Self {
        ColumnCache::new(self.slot_of.len())
    }
}

impl<F> PartialEq for ColumnCache<F> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// KernelView matrix with permutable columns
///
/// This struct wraps a kernel matrix with access indices. The working set can shrink during the
/// optimization and it is therefore necessary to reorder entries.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutableKernel<F: Float> {
    // ex2 patch: shared, so that several problems on the same points solve
    // on one kernel matrix (`fit_c_shared`) instead of a copy each.
    kernel: Arc<Kernel<F>>,
    kernel_diag: Array1<F>,
    kernel_indices: Vec<usize>,
    targets: Vec<bool>,
    cache: CacheCell<F>,
}

/// ex2 patch: the column cache behind `&self` (the solver asks for columns
/// through shared references); uncontended, one solver owns it.
#[derive(Debug, Default)]
struct CacheCell<F>(Mutex<ColumnCache<F>>);

impl<F: Float> Clone for CacheCell<F> {
    fn clone(&self) -> Self {
        CacheCell(Mutex::new(self.lock().clone()))
    }
}

impl<F> PartialEq for CacheCell<F> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<F> CacheCell<F> {
    fn lock(&self) -> std::sync::MutexGuard<'_, ColumnCache<F>> {
        // A panic elsewhere cannot leave a column half-swapped that matters:
        // the solve it belonged to is gone.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<F: Float> PermutableKernel<F> {
    pub fn new(kernel: Kernel<F>, targets: Vec<bool>) -> PermutableKernel<F> {
        Self::shared(Arc::new(kernel), targets)
    }

    // ex2 patch: `new` on a kernel other solvers may hold too.
    pub fn shared(kernel: Arc<Kernel<F>>, targets: Vec<bool>) -> PermutableKernel<F> {
        let kernel_diag = kernel.diagonal();
        let kernel_indices = (0..kernel.size()).collect::<Vec<_>>();

        let cache = CacheCell(Mutex::new(ColumnCache::new(kernel_indices.len())));
        PermutableKernel {
            kernel,
            kernel_diag,
            kernel_indices,
            targets,
            cache,
        }
    }
}

impl<F: Float> Permutable<F> for PermutableKernel<F> {
    /// Swap two indices
    fn swap_indices(&mut self, i: usize, j: usize) {
        self.kernel_indices.swap(i, j);
        self.cache.lock().swap(i, j);
    }

    /// Return distances from node `idx` to all other nodes
    fn distances(&self, position: usize, length: usize) -> Distances<F> {
        self.cache
            .lock()
            .get(position, length, |range, column| self.fill(position, range, column))
    }

    /// Return internal kernel
    fn inner(&self) -> &Kernel<F> {
        &self.kernel
    }

    /// Return internal kernel
    fn into_inner(self) -> Kernel<F> {
        // ex2 patch: a copy only while another solver shares the matrix.
        Arc::try_unwrap(self.kernel).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Return distance to itself
    fn self_distance(&self, idx: usize) -> F {
        let idx = self.kernel_indices[idx];

        self.kernel_diag[idx]
    }
}

impl<F: Float> PermutableKernel<F> {
    /// ex2 patch: appends the signed distances from the variable at
    /// `position` to those at `range` (the cache's miss path).
    fn fill(&self, position: usize, range: std::ops::Range<usize>, column: &mut Vec<F>) {
        let idx = self.kernel_indices[position];
        let target_i = self.targets[idx];
        let signed = |val: F, j: usize| {
            if self.targets[j] != target_i {
                -val
            } else {
                val
            }
        };

        // ex2 patch: a dense column is read in place; `Kernel::column` copies
        // the whole column first, which was most of a shrunk solve's time.
        let indices = &self.kernel_indices[range];
        match &self.kernel.inner {
            KernelInner::Dense(matrix) => {
                let kernel = matrix.column(idx);
                column.extend(indices.iter().map(|&j| signed(kernel[j], j)));
            }
            KernelInner::Sparse(_) => {
                let kernel = self.kernel.column(idx);
                column.extend(indices.iter().map(|&j| signed(kernel[j], j)));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermutableKernelOneClass<F: Float> {
    kernel: Kernel<F>,
    kernel_diag: Array1<F>,
    kernel_indices: Vec<usize>,
}

impl<F: Float> PermutableKernelOneClass<F> {
    pub fn new(kernel: Kernel<F>) -> PermutableKernelOneClass<F> {
        let kernel_diag = kernel.diagonal();
        let kernel_indices = (0..kernel.size()).collect::<Vec<_>>();

        PermutableKernelOneClass {
            kernel,
            kernel_diag,
            kernel_indices,
        }
    }
}

impl<F: Float> Permutable<F> for PermutableKernelOneClass<F> {
    /// Swap two indices
    fn swap_indices(&mut self, i: usize, j: usize) {
        self.kernel_indices.swap(i, j);
    }

    /// Return distances from node `idx` to all other nodes
    fn distances(&self, idx: usize, length: usize) -> Distances<F> {
        let idx = self.kernel_indices[idx];

        let kernel = self.kernel.column(idx);

        // reorder entries
        (0..length)
            .map(|j| kernel[self.kernel_indices[j]])
            .collect::<Vec<_>>()
            .into()
    }

    /// Return internal kernel
    fn inner(&self) -> &Kernel<F> {
        &self.kernel
    }

    /// Return internal kernel
    fn into_inner(self) -> Kernel<F> {
        self.kernel
    }

    /// Return distance to itself
    fn self_distance(&self, idx: usize) -> F {
        let idx = self.kernel_indices[idx];

        self.kernel_diag[idx]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermutableKernelRegression<F: Float> {
    kernel: Kernel<F>,
    kernel_diag: Array1<F>,
    kernel_indices: Vec<usize>,
    signs: Vec<bool>,
}

impl<F: Float> PermutableKernelRegression<F> {
    pub fn new(kernel: Kernel<F>) -> PermutableKernelRegression<F> {
        let kernel_diag = kernel.diagonal();
        let kernel_indices = (0..2 * kernel.size())
            .map(|x| {
                if x < kernel.size() {
                    x
                } else {
                    x - kernel.size()
                }
            })
            .collect::<Vec<_>>();
        let signs = (0..kernel.size() * 2)
            .map(|x| x < kernel.size())
            .collect::<Vec<_>>();

        PermutableKernelRegression {
            kernel,
            kernel_diag,
            kernel_indices,
            signs,
        }
    }
}

impl<F: Float> Permutable<F> for PermutableKernelRegression<F> {
    /// Swap two indices
    fn swap_indices(&mut self, i: usize, j: usize) {
        self.kernel_indices.swap(i, j);
        self.signs.swap(i, j);
    }

    /// Return distances from node `idx` to all other nodes
    fn distances(&self, idx: usize, length: usize) -> Distances<F> {
        let kernel = self.kernel.column(self.kernel_indices[idx]);

        // reorder entries
        let sign_i = self.signs[idx];
        (0..length)
            .map(|j| {
                let val = kernel[self.kernel_indices[j]];
                let sign_j = self.signs[j];

                if sign_i != sign_j {
                    -val
                } else {
                    val
                }
            })
            .collect::<Vec<_>>()
            .into()
    }

    /// Return internal kernel
    fn inner(&self) -> &Kernel<F> {
        &self.kernel
    }

    /// Return internal kernel
    fn into_inner(self) -> Kernel<F> {
        self.kernel
    }

    /// Return distance to itself
    fn self_distance(&self, idx: usize) -> F {
        let idx = self.kernel_indices[idx];

        self.kernel_diag[idx]
    }
}

#[cfg(test)]
mod tests {
    use super::{Permutable, PermutableKernel};
    use crate::permutable_kernel::{PermutableKernelOneClass, PermutableKernelRegression};
    use approx::assert_abs_diff_eq;
    use linfa_kernel::{Kernel, KernelInner, KernelMethod};
    use ndarray::array;

    #[test]
    fn autotraits() {
        fn has_autotraits<T: Send + Sync + Sized + Unpin>() {}
        has_autotraits::<PermutableKernel<f64>>();
        has_autotraits::<PermutableKernelOneClass<f64>>();
        has_autotraits::<PermutableKernelRegression<f64>>();
    }

    #[test]
    fn test_permutable_kernel() {
        let dist = array![[1.0, 0.3, 0.1], [0.3, 1.0, 0.5], [0.1, 0.5, 1.0]];
        let targets = vec![true, true, true];
        let dist = Kernel {
            inner: KernelInner::Dense(dist),
            method: KernelMethod::Linear,
        };

        let mut kernel = PermutableKernel::new(dist, targets);

        assert_abs_diff_eq!(*kernel.distances(0, 3), [1.0, 0.3, 0.1]);
        assert_abs_diff_eq!(*kernel.distances(1, 3), [0.3, 1.0, 0.5]);
        assert_abs_diff_eq!(*kernel.distances(2, 3), [0.1, 0.5, 1.0]);

        // swap first two nodes
        kernel.swap_indices(0, 1);

        assert_abs_diff_eq!(*kernel.distances(0, 3), [1.0, 0.3, 0.5]);
        assert_abs_diff_eq!(*kernel.distances(1, 3), [0.3, 1.0, 0.1]);
        assert_abs_diff_eq!(*kernel.distances(2, 3), [0.5, 0.1, 1.0]);

        // swap second and third node
        kernel.swap_indices(1, 2);

        assert_abs_diff_eq!(*kernel.distances(0, 3), [1.0, 0.5, 0.3]);
        assert_abs_diff_eq!(*kernel.distances(1, 3), [0.5, 1.0, 0.1]);
        assert_abs_diff_eq!(*kernel.distances(2, 3), [0.3, 0.1, 1.0]);
    }
}
