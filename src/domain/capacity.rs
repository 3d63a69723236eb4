//! How a capacity provider strategy splits new tasks: each item's `base` first, then by
//! `weight`, as ECS documents for capacity provider strategies.

/// Splits `count` new tasks over a strategy's items, each `(base, weight)`, given how many each
/// already has (a service's running tasks; zeros for RunTask): an item's base is filled first,
/// then each task goes to the item furthest below its share by weight. Items of weight 0 get
/// only their base; with no weight left, the rest is not placed.
#[must_use]
pub fn split(items: &[(i64, i64)], existing: &[usize], count: usize) -> Vec<usize> {
    let mut have: Vec<i64> =
        (0..items.len()).map(|i| i64::try_from(existing.get(i).copied().unwrap_or(0)).unwrap_or(0)).collect();
    let mut out = vec![0; items.len()];
    for _ in 0..count {
        let below_base = (0..items.len()).find(|&i| have[i] < items[i].0);
        let chosen = below_base.or_else(|| {
            // The smallest (tasks beyond base, with this one) / weight, compared without division.
            (0..items.len()).filter(|&i| items[i].1 > 0).min_by(|&a, &b| {
                let after = |i: usize| i128::from((have[i] - items[i].0).max(0) + 1);
                (after(a) * i128::from(items[b].1)).cmp(&(after(b) * i128::from(items[a].1)))
            })
        });
        let Some(i) = chosen else { break };
        out[i] += 1;
        have[i] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn base_first_then_by_weight() {
        // AWS's example: base 2 on the first, then 1:3.
        let items = [(2, 1), (0, 3)];
        assert_eq!(split(&items, &[0, 0], 2), vec![2, 0]);
        assert_eq!(split(&items, &[0, 0], 6), vec![3, 3]);
        assert_eq!(split(&items, &[0, 0], 10), vec![4, 6]);
        // Weight 0 gets only its base.
        assert_eq!(split(&[(1, 0), (0, 1)], &[0, 0], 5), vec![1, 4]);
        // A service's existing tasks count.
        assert_eq!(split(&[(0, 1), (0, 1)], &[3, 0], 3), vec![0, 3]);
    }

    proptest! {
        #[test]
        fn every_task_is_placed_when_some_weight_is_left(
            items in prop::collection::vec((0i64..4, 0i64..5), 1..5),
            count in 0usize..40,
        ) {
            let out = split(&items, &[], count);
            let placed: usize = out.iter().sum();
            if items.iter().any(|&(_, w)| w > 0) {
                prop_assert_eq!(placed, count);
            } else {
                prop_assert!(placed <= count);
            }
            // Nothing beyond its base goes to an item of weight 0.
            for (i, &(base, weight)) in items.iter().enumerate() {
                if weight == 0 {
                    prop_assert!(i64::try_from(out[i]).unwrap() <= base);
                }
            }
        }
    }
}
