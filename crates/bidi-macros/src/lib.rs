//! The `#[tool]` attribute of the bidi voice-agent SDK. Use it through `bidi_agent::tool`,
//! whose documentation has examples.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::{Expr, FnArg, ItemFn, Lit, LitStr, Meta, Pat, Type};

/// Turns a sync or async function into a tool (see `bidi_agent::tool`).
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

struct Options {
    name: Option<LitStr>,
    description: Option<LitStr>,
    /// The `ToolBehavior` variant named by `behavior = "..."`.
    behavior: Option<syn::Ident>,
    /// The `ToolScheduling` variant named by `scheduling = "..."`.
    scheduling: Option<syn::Ident>,
}

/// The variant of `value` among `choices` (`(attribute value, variant)`), or an error at
/// `value` listing them.
fn variant(value: &LitStr, choices: &[(&str, &str)]) -> syn::Result<syn::Ident> {
    let wanted = value.value();
    match choices.iter().find(|(text, _)| *text == wanted) {
        Some((_, name)) => Ok(syn::Ident::new(name, value.span())),
        None => {
            let known: Vec<String> = choices.iter().map(|(t, _)| format!("\"{t}\"")).collect();
            Err(syn::Error::new(
                value.span(),
                format!("expected one of {}", known.join(", ")),
            ))
        }
    }
}

fn parse_options(attr: TokenStream2) -> syn::Result<Options> {
    let mut options = Options {
        name: None,
        description: None,
        behavior: None,
        scheduling: None,
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            options.name = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("description") {
            options.description = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("behavior") {
            let value: LitStr = meta.value()?.parse()?;
            let choices = [("blocking", "Blocking"), ("non_blocking", "NonBlocking")];
            options.behavior = Some(variant(&value, &choices)?);
            Ok(())
        } else if meta.path.is_ident("scheduling") {
            let value: LitStr = meta.value()?.parse()?;
            let choices = [
                ("interrupt", "Interrupt"),
                ("when_idle", "WhenIdle"),
                ("silent", "Silent"),
            ];
            options.scheduling = Some(variant(&value, &choices)?);
            Ok(())
        } else {
            Err(meta.error(
                "expected `name = \"...\"`, `description = \"...\"`, `behavior = \"...\"` or \
                 `scheduling = \"...\"`",
            ))
        }
    });
    parser.parse2(attr)?;
    Ok(options)
}

/// The doc comment's lines.
fn doc_lines(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|s| {
            s.split('\n')
                .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn is_args_heading(line: &str) -> bool {
    let l = line
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_end_matches(':');
    matches!(l, "Arguments" | "Args" | "Parameters")
}

/// Splits the docs into the description and the per-argument descriptions.
fn split_docs(lines: &[String]) -> (String, Vec<(String, String)>) {
    let mut description = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    let mut in_args = false;
    for line in lines {
        if is_args_heading(line) {
            in_args = true;
            continue;
        }
        if in_args {
            let t = line.trim();
            if t.starts_with('#') {
                in_args = false;
                continue;
            }
            let item = t.trim_start_matches(['*', '-']).trim();
            if item.is_empty() {
                continue;
            }
            let (name, rest) = match item.strip_prefix('`') {
                Some(r) => match r.split_once('`') {
                    Some((n, rest)) => (n.to_owned(), rest),
                    None => continue,
                },
                None => match item.find([':', ' ']) {
                    Some(i) => (item[..i].to_owned(), &item[i..]),
                    None => continue,
                },
            };
            let rest = rest.trim_start();
            let desc = rest
                .strip_prefix(':')
                .or_else(|| rest.strip_prefix('-'))
                .or_else(|| rest.strip_prefix('—'))
                .unwrap_or(rest)
                .trim();
            if t.starts_with(['*', '-']) || !args.is_empty() && rest != item {
                args.push((name, desc.to_owned()));
            } else if let Some(last) = args.last_mut() {
                last.1.push(' ');
                last.1.push_str(t);
            }
        } else {
            description.push(line.clone());
        }
    }
    (description.join("\n").trim().to_owned(), args)
}

fn is_context(ty: &Type) -> Option<bool> {
    let (ty, by_ref) = match ty {
        Type::Reference(r) => (&*r.elem, true),
        other => (other, false),
    };
    match ty {
        Type::Path(p)
            if p.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "ToolContext") =>
        {
            Some(by_ref)
        }
        _ => None,
    }
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let options = parse_options(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "#[tool] functions cannot be generic",
        ));
    }
    let fn_name = &sig.ident;
    let tool_name = options
        .name
        .as_ref()
        .map_or_else(|| fn_name.to_string(), LitStr::value);
    let (doc_description, arg_docs) = split_docs(&doc_lines(&func.attrs));
    let description = options
        .description
        .as_ref()
        .map_or(doc_description, LitStr::value);
    let description = if description.is_empty() {
        tool_name.clone()
    } else {
        description
    };

    let mut fields = Vec::new();
    let mut field_names = Vec::new();
    let mut call_args = Vec::new();
    let mut sync_call_args = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "#[tool] functions cannot take self",
            ));
        };
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "#[tool] arguments must be plain names",
            ));
        };
        let ident = &pi.ident;
        if let Some(by_ref) = is_context(&pt.ty) {
            if by_ref {
                call_args.push(quote!(&__ctx));
                sync_call_args.push(quote!(&__ctx));
            } else {
                call_args.push(quote!(__ctx.clone()));
                sync_call_args.push(quote!(__ctx));
            }
            continue;
        }
        if matches!(&*pt.ty, Type::Reference(_)) {
            return Err(syn::Error::new_spanned(
                &pt.ty,
                "#[tool] arguments must be owned (String, Vec<T>, ...): they are deserialized from the model's input",
            ));
        }
        let name = ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        let doc = arg_docs
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| format!("Parameter {name}"), |(_, d)| d.clone());
        let ty = &pt.ty;
        fields.push(quote! { #[doc = #doc] #ident: #ty });
        field_names.push(quote!(#ident));
        call_args.push(quote!(#ident));
        sync_call_args.push(quote!(#ident));
    }

    let vis = &func.vis;
    let krate = quote!(::bidi_agent);
    let behavior = options
        .behavior
        .as_ref()
        .map(|v| quote! { .with_behavior(#krate::types::ToolBehavior::#v) });
    let scheduling = options
        .scheduling
        .as_ref()
        .map(|v| quote! { .with_scheduling(#krate::types::ToolScheduling::#v) });
    let attrs = &func.attrs;
    let block = &func.block;
    let mut call_sig = sig.clone();
    call_sig.ident = syn::Ident::new("call", Span::call_site());
    let private = quote!(#krate::__private);
    let args_ty = format_ident!("__{}Args", fn_name.to_string().replace("r#", ""));
    let invoke_call = if sig.asyncness.is_some() {
        quote! { #fn_name::call(#(#call_args),*).await }
    } else {
        quote! {
            #private::tokio::task::spawn_blocking(move || #fn_name::call(#(#sync_call_args),*))
                .await
                .map_err(|e| #private::join_error(#tool_name, e))?
        }
    };
    let ctx_binding = if sig.asyncness.is_some() {
        quote!(let __ctx = ctx;)
    } else {
        quote!(let __ctx = ctx.clone();)
    };

    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #fn_name;

        impl #fn_name {
            /// Calls the tool's function directly.
            #[allow(clippy::unused_async)]
            #vis #call_sig #block
        }

        const _: () = {
            #[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]
            #[serde(crate = "::bidi_agent::__private::serde")]
            #[schemars(crate = "::bidi_agent::__private::schemars")]
            #[allow(non_camel_case_types)]
            struct #args_ty { #(#fields),* }

            #[#krate::async_trait]
            impl #krate::tools::AgentTool for #fn_name {
                fn spec(&self) -> #krate::types::ToolSpec {
                    #krate::types::ToolSpec::new(
                        #tool_name,
                        #description,
                        #private::schema_of::<#args_ty>(),
                    )
                    #behavior
                    #scheduling
                }

                async fn invoke(
                    &self,
                    ctx: #krate::tools::ToolContext,
                ) -> ::core::result::Result<#krate::types::ToolResult, #krate::tools::ToolError> {
                    let __id = ctx.tool_use().tool_use_id.clone();
                    let #args_ty { #(#field_names),* } = #private::parse_args::<#args_ty>(#tool_name, &ctx.tool_use().input)?;
                    #ctx_binding
                    let __out = #invoke_call;
                    ::core::result::Result::Ok(#krate::tools::IntoToolResult::into_tool_result(__out, &__id))
                }
            }
        };
    })
}
