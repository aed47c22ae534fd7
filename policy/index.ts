// `pulumi preview --policy-pack policy` (run `npm ci` in this directory once).
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("tikv-cvm", { policies });
