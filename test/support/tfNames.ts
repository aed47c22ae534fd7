// The Tencent Cloud Terraform provider's schema fixture, and the names the Pulumi bridge gives its
// attributes and resources (pulumi-terraform-bridge: camelCase, list blocks pluralised, tokens from
// tokens.MakeStandard under module "index"), re-derived for the tests that read the fixture.
import * as fs from "fs";
import * as path from "path";

export interface TfAttr {
  type: string;
  required: boolean;
  optional: boolean;
  computed: boolean;
  maxItems?: number;
  elem?: string | Record<string, TfAttr>;
}

export interface TfReference {
  source: { tag: string };
  resources: Record<string, { schema: Record<string, TfAttr> }>;
  dataSources: Record<string, { schema: Record<string, TfAttr> }>;
}

export function loadTfFixture(): TfReference {
  return JSON.parse(
    fs.readFileSync(path.join(__dirname, "..", "fixtures", "terraform-provider-tencentcloud-1.82.102.json"), "utf8"),
  ) as TfReference;
}

export function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** List and set attributes are pluralised unless they hold at most one item (then an object). */
export function pluralize(name: string): string {
  if (name.endsWith("ss")) return `${name}es`;
  if (name.endsWith("s")) return name;
  if (/[^aeiou]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  return `${name}s`;
}

export function pulumiName(tfName: string, attr: TfAttr): string {
  const isList = attr.type === "TypeList" || attr.type === "TypeSet";
  return camel(isList && attr.maxItems !== 1 ? pluralize(tfName) : tfName);
}

/** tokens.MakeStandard under module "index": tencentcloud_eip_association -> tencentcloud:index/eipAssociation:EipAssociation. */
export function tfToken(tfName: string, dataSource: boolean): string {
  const rest = camel(tfName.replace(/^tencentcloud_/, ""));
  const name = dataSource ? `get${rest[0].toUpperCase()}${rest.slice(1)}` : rest;
  return dataSource
    ? `tencentcloud:index/${name}:${name}`
    : `tencentcloud:index/${name}:${name[0].toUpperCase()}${name.slice(1)}`;
}
