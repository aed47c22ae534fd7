// Labels the program puts on Docker objects. No imports: the policy pack reads this too.

/**
 * Data volumes carry this label beside `retainOnDelete`: the analyzer protocol gives policy packs
 * no `retainOnDelete`, so policy/ checks the label the program sets with it.
 */
export const RETAIN_LABEL = "tikv-cvm.retain-on-delete";
