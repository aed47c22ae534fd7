// Labels the program puts on Docker objects. No imports: the policy pack reads this too.

/**
 * Data volumes carry this label beside `retainOnDelete`: the analyzer protocol gives policy packs
 * no `retainOnDelete`, so policy/ checks the label the program sets with it.
 */
export const RETAIN_LABEL = "tikv-cvm.retain-on-delete";

/**
 * Docker engine labels a CVM's data-disk unit gives dockerd (lib/dataDisk.ts): the disk Docker's data
 * root is on, or why it is not. The readiness check reads them from GET /info.
 */
export const DATA_DISK_LABEL = "tikv-cvm.data-disk";
export const DATA_DISK_ERROR_LABEL = "tikv-cvm.data-disk-error";

/**
 * On every container of a CVM made here: the instance it runs on. A replaced CVM has a new id, so its
 * containers are replaced with it in the same deployment (labels force a new container,
 * kreuzwerker/terraform-provider-docker internal/provider/resource_docker_container.go, v3.9.0).
 */
export const INSTANCE_LABEL = "tikv-cvm.instance";
