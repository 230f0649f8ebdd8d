import struct,sys
# Executed SPIR-V instructions per invocation of the entry point, calls expanded (straight-line
# shader: no loops), and the arithmetic/logic ones among them.
ARITH={128:'IAdd',194:'ShrL',196:'Shl',197:'Or',198:'Xor',199:'And',176:'ULessThanEqual',178:'UGreaterThanEqual',130:'ISub',132:'IMul'}
SKIP={54,55,56,248,253}  # Function, FunctionParameter, FunctionEnd, Label, Return
def parse(f):
    d=open(f,'rb').read(); w=struct.unpack('<%dI'%(len(d)//4), d)
    i=5; funcs={}; cur=None; entry=None
    while i<len(w):
        wc=w[i]>>16; op=w[i]&0xffff; args=w[i+1:i+wc]
        if op==15: entry=args[1]
        if op==54: cur=args[1]; funcs[cur]=[]
        elif op==56: cur=None
        elif cur is not None and op not in SKIP: funcs[cur].append((op,args))
        i+=wc
    return funcs,entry
def count(funcs,fid,memo={}):
    tot=0; ar=0
    for op,args in funcs[fid]:
        if op==57:
            t,a=count(funcs,args[2]); tot+=t+1; ar+=a
        else:
            tot+=1; ar+= op in ARITH
    return tot,ar
for f in sys.argv[1:]:
    funcs,entry=parse(f)
    print(f, "executed instructions per nonce: %d, arithmetic/logic: %d" % count(funcs,entry))
