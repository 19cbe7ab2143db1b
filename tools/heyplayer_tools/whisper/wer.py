"""Word error rate of whisper_verify's transcripts (tools/whisper_verify/run.sh):
    python -m heyplayer_tools.whisper.wer REFS.tsv HYPS.tsv
"""
import sys,re
NUM={'0':'zero','1':'one','2':'two','3':'three','4':'four','5':'five','6':'six','7':'seven','8':'eight','9':'nine'}
def norm(s):
    s=s.lower().replace("-"," ")
    s=re.sub(r"[^a-z0-9' ]"," ",s)
    w=[NUM.get(x,x) for x in s.split()]
    return [x.strip("'") for x in w if x.strip("'")]
def ed(a,b):
    d=list(range(len(b)+1))
    for i in range(1,len(a)+1):
        p=d[:]; d[0]=i
        for j in range(1,len(b)+1):
            d[j]=min(p[j]+1,d[j-1]+1,p[j-1]+(a[i-1]!=b[j-1]))
    return d[len(b)]
def main():
    refs=dict(l.rstrip('\n').split('\t',1) for l in open(sys.argv[1]))
    hyps={}
    for l in open(sys.argv[2]):
        f=l.rstrip('\n').split('\t')
        hyps[f[0][:-4]]=f[4] if len(f)>4 else ''
    E=N=n=0; bad=[]
    for k,r in refs.items():
        if '<' in r or k not in hyps: continue
        a,b=norm(r),norm(hyps[k]); e=ed(a,b); E+=e; N+=len(a); n+=1
        if e: bad.append((k,r,hyps[k],e))
    print(f"utterances={n} ref_words={N} errors={E} WER={E/N*100:.2f}%")
    for b in bad: print("  ERR", b)


if __name__ == "__main__":
    main()
